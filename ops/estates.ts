/** Estates as the CRM's users see them: lists filtered by status (R12), activate, publish (R11). */
import type { Db } from '../db/db';
import {
  activateEstateRow,
  anyEstateAfter,
  estateAttachmentRows,
  estateContactRows,
  estateRows,
  estatesByExternalNumber,
  publishEstateRow,
  type EstateAttachmentRow,
} from '../db/ops-estates';

export class EstateRuleError extends Error {
  override readonly name = 'EstateRuleError';
  readonly exitCode = 1;
}

export interface EstateView {
  id: number;
  tenant: string;
  externalNumber: string;
  sourceId: string;
  status: string;
  user: string;
  title: string | null;
  kind: string | null;
  marketingType: string | null;
  city: string | null;
  zip: string | null;
  street: string | null;
  purchasePrice: number | null;
  coldRent: number | null;
  livingArea: number | null;
  rooms: number | null;
  archived: boolean;
  reference: boolean;
  published: boolean;
  warning: string;
  updatedAt: string;
  /** All mapped estate fields (typed), as the reader produced them. */
  fields: Record<string, unknown>;
  /** position, group, title, format, sha256, url, size. */
  attachments: Omit<EstateAttachmentRow, 'estate_id'>[];
  contacts: { role: string; lastName: string | null; firstName: string | null; company: string | null; origin: string; status: string }[];
}

export type EstateStatusFilter = 'aktiv' | 'inaktiv' | 'all';

/**
 * Estates are read in chunks of at most this many, keyset-paged on the id; the related rows
 * (contacts, attachments) are read per chunk, so no statement ever carries more ids than this
 * (PostgreSQL allows 65,535 bind parameters per statement).
 */
export const ESTATE_CHUNK = 1000;
/** Rows of one `imv-import estates` page unless --limit says otherwise. */
export const DEFAULT_ESTATE_PAGE = 1000;

export interface EstateFilter {
  tenant?: string;
  status: EstateStatusFilter;
  /** Keyset cursor: only estates with an id greater than this. */
  after?: number;
}

function groupBy<T extends { estate_id: number }>(rows: T[]): Map<number, T[]> {
  const m = new Map<number, T[]>();
  for (const r of rows) {
    const list = m.get(r.estate_id);
    if (list) list.push(r);
    else m.set(r.estate_id, [r]);
  }
  return m;
}

/** One chunk of at most `size` (≤ ESTATE_CHUNK) estates after the cursor, with their contacts and attachments. */
async function loadChunk(db: Db, f: EstateFilter, size: number): Promise<EstateView[]> {
  const rows = await estateRows(db, f, Math.min(size, ESTATE_CHUNK));
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const contacts = groupBy(await estateContactRows(db, ids));
  const attachments = groupBy(await estateAttachmentRows(db, ids));
  return rows.map((r) => ({
    id: r.id,
    tenant: r.tenant_id,
    externalNumber: r.external_number,
    sourceId: r.source_id,
    status: r.status,
    user: r.user_name,
    title: r.title,
    kind: r.kind,
    marketingType: r.marketing_type,
    city: r.city,
    zip: r.zip,
    street: r.street,
    purchasePrice: r.purchase_price,
    coldRent: r.cold_rent,
    livingArea: r.living_area,
    rooms: r.rooms,
    archived: r.archived,
    reference: r.reference,
    published: r.published_at != null,
    warning: r.warning_note,
    updatedAt: new Date(r.updated_at).toISOString(),
    fields: r.fields,
    attachments: (attachments.get(r.id) ?? []).map((a) => ({
      position: a.position,
      group: a.group,
      title: a.title,
      format: a.format,
      sha256: a.sha256,
      url: a.url,
      size: a.size,
    })),
    contacts: (contacts.get(r.id) ?? []).map((c) => ({
      role: c.role,
      lastName: c.last_name,
      firstName: c.first_name,
      company: c.company,
      origin: c.contact_origin,
      status: c.status,
    })),
  }));
}

/**
 * Estates in id order, chunk by chunk (each at most ESTATE_CHUNK), from the cursor on; at most
 * `limit` in all (default: every one). Memory stays bounded by one chunk.
 */
export async function* streamEstates(db: Db, f: EstateFilter & { limit?: number }): AsyncGenerator<EstateView[]> {
  let after = f.after;
  let left = f.limit ?? Infinity;
  while (left > 0) {
    const size = Math.min(left, ESTATE_CHUNK);
    const chunk = await loadChunk(db, { ...f, after }, size);
    if (chunk.length) yield chunk;
    if (chunk.length < size) return;
    left -= chunk.length;
    after = chunk[chunk.length - 1].id;
  }
}

/** One page: at most `limit` estates after the cursor, and the cursor of the next page (null on the last). */
export async function listEstatesPage(db: Db, f: EstateFilter & { limit: number }): Promise<{ rows: EstateView[]; next: number | null }> {
  const rows: EstateView[] = [];
  for await (const chunk of streamEstates(db, f)) rows.push(...chunk);
  if (rows.length < f.limit) return { rows, next: null };
  const last = rows[rows.length - 1].id;
  return { rows, next: (await anyEstateAfter(db, f, last)) ? last : null };
}

/** Every matching estate (read chunk by chunk); for callers that want them all in memory. */
export async function listEstates(db: Db, f: EstateFilter): Promise<EstateView[]> {
  const rows: EstateView[] = [];
  for await (const chunk of streamEstates(db, f)) rows.push(...chunk);
  return rows;
}

export const NO_ESTATES = 'no estates (imported estates are inaktiv: use --status inaktiv or --status all)';

export function formatEstates(rows: EstateView[]): string {
  if (!rows.length) return NO_ESTATES;
  return rows
    .map((r) =>
      [
        String(r.id).padStart(7),
        r.externalNumber.padEnd(16),
        r.status.padEnd(7),
        (r.archived ? 'archived' : r.reference ? 'reference' : '').padEnd(9),
        r.user.padEnd(14),
        (r.city ?? '').padEnd(14),
        r.title ?? '',
      ].join(' '),
    )
    .join('\n');
}

async function findOne(db: Db, tenant: string, externalNumber: string) {
  const rows = await estatesByExternalNumber(db, tenant, externalNumber);
  if (rows.length === 0) throw new EstateRuleError(`no estate with external number ${externalNumber} for tenant ${tenant}`);
  if (rows.length > 1) throw new EstateRuleError(`${rows.length} estates share the external number ${externalNumber}; resolve that in the CRM first`);
  return rows[0];
}

export async function activateEstate(db: Db, tenant: string, externalNumber: string): Promise<void> {
  const e = await findOne(db, tenant, externalNumber);
  await activateEstateRow(db, e.id);
}

export async function publishEstate(db: Db, tenant: string, externalNumber: string): Promise<void> {
  const e = await findOne(db, tenant, externalNumber);
  if (e.status !== 'aktiv') {
    throw new EstateRuleError(
      `estate ${externalNumber} is ${e.status}: imported estates must be set to aktiv before they can be marketed on portals (imv-import estate activate ${externalNumber})`,
    );
  }
  if (e.archived) throw new EstateRuleError(`estate ${externalNumber} is archived (deleted by the sender) and cannot be published`);
  await publishEstateRow(db, e.id);
}
