/** Estates as the CRM's users see them: lists filtered by status (R12), activate, publish (R11). */
import type { Db } from '../db/db';

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
  attachments: { position: number; group: string | null; title: string | null; format: string | null; sha256: string | null; url: string | null; size: number | null }[];
  contacts: { role: string; lastName: string | null; firstName: string | null; company: string | null; origin: string; status: string }[];
}

export async function listEstates(db: Db, o: { tenant?: string; status: 'aktiv' | 'inaktiv' | 'all' }): Promise<EstateView[]> {
  const q = db('estates').orderBy('id');
  if (o.tenant) q.where({ tenant_id: o.tenant });
  if (o.status !== 'all') q.where({ status: o.status });
  const rows = await q;
  const ids = rows.map((r) => r.id);
  const contacts = ids.length
    ? await db('estate_contacts as l').join('addresses as a', 'a.id', 'l.address_id').whereIn('l.estate_id', ids).orderBy(['l.estate_id', 'l.id']).select('l.estate_id', 'l.role', 'a.last_name', 'a.first_name', 'a.company', 'a.contact_origin', 'a.status')
    : [];
  const attachments = ids.length ? await db('estate_attachments').whereIn('estate_id', ids).orderBy(['estate_id', 'position']) : [];
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
    attachments: attachments
      .filter((a) => a.estate_id === r.id)
      .map((a) => ({ position: a.position, group: a.group, title: a.title, format: a.format, sha256: a.sha256, url: a.url, size: a.size })),
    contacts: contacts
      .filter((c) => c.estate_id === r.id)
      .map((c) => ({ role: c.role, lastName: c.last_name, firstName: c.first_name, company: c.company, origin: c.contact_origin, status: c.status })),
  }));
}

export function formatEstates(rows: EstateView[]): string {
  if (!rows.length) return 'no estates (imported estates are inaktiv: use --status inaktiv or --status all)';
  return rows
    .map((r) =>
      [
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
  const rows = await db('estates').where({ tenant_id: tenant, external_number: externalNumber });
  if (rows.length === 0) throw new EstateRuleError(`no estate with external number ${externalNumber} for tenant ${tenant}`);
  if (rows.length > 1) throw new EstateRuleError(`${rows.length} estates share the external number ${externalNumber}; resolve that in the CRM first`);
  return rows[0];
}

export async function activateEstate(db: Db, tenant: string, externalNumber: string): Promise<void> {
  const e = await findOne(db, tenant, externalNumber);
  await db('estates').where({ id: e.id }).update({ status: 'aktiv', updated_at: db.fn.now() });
}

export async function publishEstate(db: Db, tenant: string, externalNumber: string): Promise<void> {
  const e = await findOne(db, tenant, externalNumber);
  if (e.status !== 'aktiv') {
    throw new EstateRuleError(
      `estate ${externalNumber} is ${e.status}: imported estates must be set to aktiv before they can be marketed on portals (imv-import estate activate ${externalNumber})`,
    );
  }
  if (e.archived) throw new EstateRuleError(`estate ${externalNumber} is archived (deleted by the sender) and cannot be published`);
  await db('estates').where({ id: e.id }).update({ published_at: db.fn.now(), updated_at: db.fn.now() });
}
