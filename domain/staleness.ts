/**
 * Staleness: an incoming object older than what is stored is skipped, so that replaying an old
 * file never overwrites newer data. Order: the object's stand_vom, then the transfer's timestamp,
 * then the file's modification time. A component missing on either side does not decide.
 */
export interface ObjectVersion {
  standVom: string | null;
  transferTimestamp: string | null;
  fileTime: string | null;
}

/** Dates (YYYY-MM-DD) and date-times compare on the date when either side has no time. */
function compareInstant(a: string, b: string): number {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/;
  if (dateOnly.test(a) || dateOnly.test(b)) {
    const da = a.slice(0, 10);
    const db = b.slice(0, 10);
    return da < db ? -1 : da > db ? 1 : 0;
  }
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (Number.isNaN(ta) || Number.isNaN(tb)) return 0;
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}

/** <0 when `a` is older than `b`, >0 when newer, 0 when they cannot be told apart. */
export function compareVersions(a: ObjectVersion, b: ObjectVersion): number {
  for (const k of ['standVom', 'transferTimestamp', 'fileTime'] as const) {
    const x = a[k];
    const y = b[k];
    if (x && y) {
      const c = compareInstant(x, y);
      if (c !== 0) return c;
    }
  }
  return 0;
}

export function isStale(incoming: ObjectVersion, stored: ObjectVersion): boolean {
  return compareVersions(incoming, stored) < 0;
}
