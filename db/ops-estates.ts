/** Estates as `imv-import estates` and `imv-import estate activate|publish` read and change them (ops/estates.ts). */
import type { Db } from './db';

/** Which estates: one tenant's (or every tenant's), by status (`all`: any), after a keyset cursor on the id. */
export interface EstateRowFilter {
  tenant?: string;
  status: string;
  /** Only estates with an id greater than this. */
  after?: number;
}

/** An estate's columns the ops views show; not `data` (the lossless JSON, often far larger than the rest). */
export interface EstateListRow {
  id: number;
  tenant_id: string;
  external_number: string;
  source_id: string;
  status: string;
  user_name: string;
  title: string | null;
  kind: string | null;
  marketing_type: string | null;
  city: string | null;
  zip: string | null;
  street: string | null;
  purchase_price: number | null;
  cold_rent: number | null;
  living_area: number | null;
  rooms: number | null;
  archived: boolean;
  reference: boolean;
  published_at: Date | null;
  warning_note: string;
  updated_at: Date;
  fields: Record<string, unknown>;
}

const ESTATE_COLUMNS: (keyof EstateListRow)[] = [
  'id',
  'tenant_id',
  'external_number',
  'source_id',
  'status',
  'user_name',
  'title',
  'kind',
  'marketing_type',
  'city',
  'zip',
  'street',
  'purchase_price',
  'cold_rent',
  'living_area',
  'rooms',
  'archived',
  'reference',
  'published_at',
  'warning_note',
  'updated_at',
  'fields',
];

export interface EstateContactRow {
  estate_id: number;
  role: string;
  last_name: string | null;
  first_name: string | null;
  company: string | null;
  contact_origin: string;
  status: string;
}

export interface EstateAttachmentRow {
  estate_id: number;
  position: number;
  group: string | null;
  title: string | null;
  format: string | null;
  sha256: string | null;
  url: string | null;
  size: number | null;
}

/** The first `limit` matching estates in id order. */
export async function estateRows(db: Db, f: EstateRowFilter, limit: number): Promise<EstateListRow[]> {
  const q = db('estates').select(ESTATE_COLUMNS).orderBy('id').limit(limit);
  if (f.tenant) q.where({ tenant_id: f.tenant });
  if (f.status !== 'all') q.where({ status: f.status });
  if (f.after != null) q.where('id', '>', f.after);
  return (await q) as EstateListRow[];
}

/** Whether an estate matching the filter has an id greater than `after`. */
export async function anyEstateAfter(db: Db, f: Omit<EstateRowFilter, 'after'>, after: number): Promise<boolean> {
  const more = db('estates').where('id', '>', after).first('id');
  if (f.tenant) more.where({ tenant_id: f.tenant });
  if (f.status !== 'all') more.where({ status: f.status });
  return !!(await more);
}

/** The contacts of these estates with their addresses' names, by estate and link. */
export async function estateContactRows(db: Db, estateIds: number[]): Promise<EstateContactRow[]> {
  return db('estate_contacts as l')
    .join('addresses as a', 'a.id', 'l.address_id')
    .whereIn('l.estate_id', estateIds)
    .orderBy(['l.estate_id', 'l.id'])
    .select('l.estate_id', 'l.role', 'a.last_name', 'a.first_name', 'a.company', 'a.contact_origin', 'a.status');
}

/** The attachments of these estates, by estate and position. */
export async function estateAttachmentRows(db: Db, estateIds: number[]): Promise<EstateAttachmentRow[]> {
  return db('estate_attachments').whereIn('estate_id', estateIds).orderBy(['estate_id', 'position']);
}

/** Every estate of the tenant with this external number (normally one; the CRM may have made more). */
export async function estatesByExternalNumber(db: Db, tenant: string, externalNumber: string): Promise<{ id: number; status: string; archived: boolean }[]> {
  return db('estates').where({ tenant_id: tenant, external_number: externalNumber });
}

/** Sets the estate's status to `aktiv` (R11: imported estates are `inaktiv` until a user activates them). */
export async function activateEstateRow(db: Db, id: number): Promise<void> {
  await db('estates').where({ id }).update({ status: 'aktiv', updated_at: db.fn.now() });
}

/** Marks the estate published now. */
export async function publishEstateRow(db: Db, id: number): Promise<void> {
  await db('estates').where({ id }).update({ published_at: db.fn.now(), updated_at: db.fn.now() });
}
