/**
 * Durations as operators write them (flags, environment, config file): `90s`, `45m`, `2h`, `1d`; a bare
 * number is minutes.
 */

/** Seconds (rounded; 0 for `0m`), or null when the text is not a duration. */
export function durationSeconds(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*$/i.exec(text);
  if (!m) return null;
  const unit = (m[2] ?? 'm').toLowerCase();
  return Math.round(Number(m[1]) * (unit === 's' ? 1 : unit === 'h' ? 3600 : unit === 'd' ? 86400 : 60));
}
