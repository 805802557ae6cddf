/**
 * What one incoming object does to the estate it names: the CRM's rules as a pure function.
 *
 * R3  a new estate is `inaktiv`; an update never changes the status.
 * R4  external number `IMVO-ID-<id>` on creation only; matching uses (tenant, source, source id).
 * R5  every imported estate carries the warning note `IMV Import`.
 * R8  same IMV id → same estate.
 * DELETE archives (soft), REFERENZ flags as reference; staleness skips older data.
 */
import { createHash } from 'node:crypto';
import type { TransferObject } from '../openimmo/types';
import { isStale, type ObjectVersion } from './staleness';

export const SOURCE_IMV = 'IMV';
export const WARNING_NOTE = 'IMV Import';
export const EXTERNAL_PREFIX = 'IMVO-ID-';

export function externalNumberOf(sourceId: string): string {
  return sourceId.startsWith(EXTERNAL_PREFIX) ? sourceId : EXTERNAL_PREFIX + sourceId;
}

export interface StoredEstate {
  id: number;
  status: string;
  archived: boolean;
  reference: boolean;
  content_hash: string;
  source_stand: string | null;
  source_timestamp: string | null;
  source_file_time: string | Date | null;
}

export interface ApplyContext {
  tenant: string;
  user: string;
  importId: number;
  transferTimestamp: string | null;
  fileTime: string;
  /** openimmo_anid, else anbieternr of the object's provider. */
  provider: string | null;
}

/** Columns written on create and on update (never status, external_number: R3, R4). */
export function estateColumns(o: TransferObject, ctx: ApplyContext) {
  const e = o.estate;
  return {
    user_name: ctx.user,
    provider_id: ctx.provider,
    warning_note: WARNING_NOTE,
    kind: e.kind,
    kind_type: e.kindType,
    marketing_type: e.marketingType,
    usage_type: e.usageType,
    street: e.street,
    house_number: e.houseNumber,
    zip: e.zip,
    city: e.city,
    district: e.district,
    country: e.country,
    latitude: e.latitude,
    longitude: e.longitude,
    floor: e.floor,
    address_publishable: e.addressPublishable,
    purchase_price: e.purchasePrice,
    cold_rent: e.coldRent,
    warm_rent: e.warmRent,
    additional_costs: e.additionalCosts,
    currency: e.currency,
    living_area: e.livingArea,
    usable_area: e.usableArea,
    plot_area: e.plotArea,
    rooms: e.rooms,
    year_built: e.yearBuilt,
    title: e.title,
    fields: e,
    data: { raw: o.raw, userFields: o.userFields, furtherAddresses: o.furtherAddresses.length, warnings: o.warnings },
    source_stand: o.standVom,
    source_timestamp: ctx.transferTimestamp,
    source_file_time: ctx.fileTime,
    content_hash: contentHash(o, ctx.user),
    last_import_id: ctx.importId,
  };
}

export type EstateColumns = ReturnType<typeof estateColumns>;

/** Same content → same hash, whatever file or time it came with. */
export function contentHash(o: TransferObject, user: string): string {
  return createHash('sha256')
    .update(JSON.stringify({ a: o.action, u: user, r: o.raw }))
    .digest('hex');
}

export type EstatePlan =
  | { outcome: 'created'; columns: EstateColumns; archived: false; reference: boolean }
  | { outcome: 'updated'; columns: EstateColumns; archived: false; reference: boolean }
  | { outcome: 'archived'; columns: EstateColumns | null }
  | { outcome: 'unchanged' }
  | { outcome: 'stale'; message: string }
  | { outcome: 'not-found'; message: string };

export function versionOf(o: TransferObject, ctx: ApplyContext): ObjectVersion {
  return { standVom: o.standVom, transferTimestamp: ctx.transferTimestamp, fileTime: ctx.fileTime };
}

export function storedVersion(s: StoredEstate): ObjectVersion {
  const ft = s.source_file_time;
  return {
    standVom: s.source_stand,
    transferTimestamp: s.source_timestamp,
    fileTime: ft == null ? null : typeof ft === 'string' ? ft : ft.toISOString(),
  };
}

/** Decides what `o` does, given the estate as stored now (after earlier objects of the file). */
export function planEstate(o: TransferObject, stored: StoredEstate | null, ctx: ApplyContext): EstatePlan {
  if (stored && isStale(versionOf(o, ctx), storedVersion(stored))) {
    return {
      outcome: 'stale',
      message: `object ${o.sourceId}: stored data is newer (stand_vom ${stored.source_stand ?? '-'}), incoming (stand_vom ${o.standVom ?? '-'}) skipped`,
    };
  }
  const columns = estateColumns(o, ctx);
  if (o.action === 'DELETE') {
    if (!stored) return { outcome: 'not-found', message: `object ${o.sourceId}: DELETE for an estate that does not exist` };
    if (stored.archived) return { outcome: 'unchanged' };
    // The DELETE's own content (often just the id) must not overwrite the estate's data.
    return { outcome: 'archived', columns: null };
  }
  const reference = o.action === 'REFERENZ' || (stored?.reference ?? false);
  if (!stored) return { outcome: 'created', columns, archived: false, reference };
  if (stored.content_hash === columns.content_hash && !stored.archived && stored.reference === reference) {
    return { outcome: 'unchanged' };
  }
  return { outcome: 'updated', columns, archived: false, reference };
}
