/**
 * Text from a sender's file reaches PostgreSQL in many places: file names, error messages that
 * quote a ZIP entry or a value, staged objects, reports. PostgreSQL refuses two things JavaScript
 * strings can hold: the NUL character (in `text`, "invalid byte sequence for encoding UTF8: 0x00";
 * in `jsonb`, the escape `\u0000`) and lone UTF-16 surrogates (not UTF-8 at all). One refused value
 * fails the whole statement, over and over on every retry.
 *
 * `pgSafe` makes any bound value storable, and db/db.ts applies it to EVERY binding of every query
 * (the one place): NUL becomes U+2400 (SYMBOL FOR NULL, "␀", visible in messages), a lone surrogate
 * becomes U+FFFD. Everything else is unchanged, so ordinary values compare and match as before.
 */

/** U+2400 SYMBOL FOR NULL: what a NUL character is stored as. */
export const NUL_SYMBOL = '\u2400';

// A lone high surrogate (not followed by a low one) or a lone low surrogate (not preceded by a high one).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// A run of backslashes before u0000: an odd run ends in the JSON escape \u0000, an even one is an
// escaped backslash followed by the plain text "u0000".
const JSON_NUL_ESCAPE = /(\\+)u0000/g;
// eslint-disable-next-line no-control-regex -- the point is to find the control character
const NUL = /\u0000/g;

/** A string PostgreSQL stores as text (and, if it is JSON text, as jsonb). */
export function pgSafeText(s: string): string {
  let out = s;
  if (out.includes('\u0000')) out = out.replace(NUL, NUL_SYMBOL);
  if (/[\uD800-\uDFFF]/.test(out)) out = out.replace(LONE_SURROGATE, '\uFFFD');
  // JSON text bound for a jsonb column: its escaped NULs are refused there, too.
  if (out.includes('\\u0000')) {
    out = out.replace(JSON_NUL_ESCAPE, (m: string, slashes: string) => (slashes.length % 2 === 1 ? `${slashes}u2400` : m));
  }
  return out;
}

/** Any bound value made storable: strings, and strings inside arrays and plain objects. */
export function pgSafe<T>(value: T): T {
  if (typeof value === 'string') return pgSafeText(value) as T;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const s = pgSafe(v);
      if (s !== v) changed = true;
      return s;
    });
    return (changed ? out : value) as T;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const sk = pgSafeText(k);
      const sv = pgSafe(v);
      if (sk !== k || sv !== v) changed = true;
      out[sk] = sv;
    }
    return (changed ? out : value) as T;
  }
  return value;
}
