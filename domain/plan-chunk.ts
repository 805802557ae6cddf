/**
 * What one chunk of staged objects does to the tenant's estates, decided in document order against
 * an in-memory view of the stored estates: per object created, updated, unchanged, archived, stale,
 * not-found or rejected (no id, no user, unknown user: R9), and per estate its final state, written
 * once. Pure: the estate step reads the stored estates and writes the plan (activities/apply.ts).
 */
import { contactWarnings } from './contact';
import { planEstate, type ApplyContext, type EstateColumns, type StoredEstate } from './estate';
import { unknownUserMessage } from './users';
import type { ProviderInfo, TransferHeader, TransferObject } from '../openimmo/types';

/** Outcomes whose object's contacts the address step imports (and links). */
export const APPLIED_OUTCOMES: ReadonlySet<string> = new Set(['created', 'updated', 'unchanged']);

export interface ChunkObject {
  position: number;
  payload: TransferObject;
}

export interface ChunkContext {
  tenant: string;
  /** Who owns an object whose transfer names no user (the tenant's defaultUser). */
  defaultUser: string | null;
  /** The user field's name, for the message when no user is named. */
  userField: string;
  /** The tenant's active onOffice users. */
  users: ReadonlySet<string>;
  importId: number;
  /** The file's modification time, ISO-8601. */
  fileTime: string;
  header: Pick<TransferHeader, 'timestamp'> | null | undefined;
  providers: ProviderInfo[] | undefined;
}

/** An estate's final state after the chunk: its columns (null: only archived), flags, and whether it is new. */
export interface PlannedEstate {
  columns: EstateColumns | null;
  archived: boolean;
  reference: boolean;
  isNew: boolean;
}

export interface PlannedObject {
  position: number;
  sourceId: string | null;
  action: string;
  outcome: string;
  messages: string[];
}

export interface ChunkPlan {
  /** Per source id, the estate's final state: only estates the chunk changes. */
  estates: Map<string, PlannedEstate>;
  /** Per object, in document order. */
  objects: PlannedObject[];
  /** Ids of estates stored before the chunk, by source id. */
  storedIds: Map<string, number>;
}

/** Plans the chunk against `stored` (the estates stored now, by source id; not changed). */
export function planChunk(rows: ChunkObject[], stored: ReadonlyMap<string, StoredEstate>, ctx: ChunkContext): ChunkPlan {
  const view = new Map(stored);
  const estates = new Map<string, PlannedEstate>();
  const objects: PlannedObject[] = [];
  for (const r of rows) {
    const o = r.payload;
    const messages = [...o.warnings];
    const planned = (outcome: string, extra: string[] = []) =>
      objects.push({ position: r.position, sourceId: o.sourceId, action: o.action, outcome, messages: [...messages, ...extra] });
    const apply = applyContextOf(o, ctx);
    if (typeof apply === 'string') {
      planned('rejected', [apply]);
      continue;
    }
    const sourceId = o.sourceId!;
    const current = view.get(sourceId) ?? null;
    const plan = planEstate(o, current, apply);
    const prev = estates.get(sourceId);
    switch (plan.outcome) {
      case 'created':
      case 'updated':
        estates.set(sourceId, { columns: plan.columns, archived: false, reference: plan.reference, isNew: prev?.isNew ?? !current });
        view.set(sourceId, {
          id: current?.id ?? -1,
          status: current?.status ?? 'inaktiv',
          archived: false,
          reference: plan.reference,
          content_hash: plan.columns.content_hash,
          source_stand: plan.columns.source_stand,
          source_timestamp: plan.columns.source_timestamp,
          source_file_time: plan.columns.source_file_time,
        });
        break;
      case 'archived':
        estates.set(sourceId, { columns: prev?.columns ?? null, archived: true, reference: current!.reference, isNew: prev?.isNew ?? false });
        view.set(sourceId, { ...current!, archived: true });
        break;
      case 'stale':
      case 'not-found':
        messages.push(plan.message);
        break;
      case 'unchanged':
        break;
    }
    // The address step imports this object's contacts: say here which of them it cannot.
    planned(plan.outcome, APPLIED_OUTCOMES.has(plan.outcome) ? contactWarnings(o) : []);
  }
  const storedIds = new Map<string, number>();
  for (const [sid, s] of view) if (s.id > 0) storedIds.set(sid, s.id);
  return { estates, objects, storedIds };
}

/** The object's apply context, or why it is rejected: no IMV id, no user, an unknown user. */
function applyContextOf(o: TransferObject, ctx: ChunkContext): ApplyContext | string {
  if (!o.sourceId) {
    return `object #${o.position}: no IMV object id (verwaltung_techn/objektnr_extern and openimmo_obid are missing, empty or unusable)`;
  }
  const provider = ctx.providers?.find((p) => p.index === o.providerIndex);
  const user = o.user ?? provider?.user ?? ctx.defaultUser;
  if (!user) {
    return `object ${o.sourceId}: no onOffice user named (user_defined_simplefield feldname="${ctx.userField}") and tenant ${ctx.tenant} has no default user`;
  }
  if (!ctx.users.has(user)) return unknownUserMessage(o.sourceId, user, ctx.tenant, ctx.importId);
  return {
    tenant: ctx.tenant,
    user,
    importId: ctx.importId,
    transferTimestamp: ctx.header?.timestamp ?? null,
    fileTime: ctx.fileTime,
    provider: provider?.openimmoAnid || provider?.anbieternr || null,
  };
}
