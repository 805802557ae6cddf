/**
 * onOffice user names in messages (R9). A name that only looks like a known one — Cyrillic "о" for
 * Latin "o", fullwidth letters, a zero-width space — is rightly unknown, but printed as written it
 * reads like the known name ("unknown user skoch"). So anything outside printable ASCII is shown as
 * an escape and listed by code point with what kind of character it is, from Unicode's own properties
 * (general category, script, NFKC) as JavaScript's regular expressions know them: no name tables.
 */

/** Longer names are shortened in messages (a user field can hold a paragraph). */
const MAX_NAME_CODE_POINTS = 60;
/** Code points described in one message; the rest are counted. */
const MAX_DESCRIBED = 5;

const PRINTABLE_ASCII = /^[\x20-\x7e]$/;

/** Scripts whose letters pass for Latin ones, and the common others; anything else is "letter". */
const SCRIPTS = ['Latin', 'Cyrillic', 'Greek', 'Armenian', 'Cherokee', 'Coptic', 'Georgian', 'Hebrew', 'Arabic', 'Han', 'Hiragana', 'Katakana', 'Hangul'].map(
  (name) => ({ name, re: new RegExp(`^\\p{Script=${name}}$`, 'u') }),
);

export function codePointLabel(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

function escapeCodePoint(cp: number): string {
  return cp > 0xffff ? `\\u{${cp.toString(16).toUpperCase()}}` : `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** What kind of character `ch` is (one code point), in words, without a table of names. */
export function describeCharacter(ch: string): string {
  const cp = ch.codePointAt(0)!;
  if (cp >= 0xd800 && cp <= 0xdfff) return 'unpaired surrogate';
  if (/^\p{Cc}$/u.test(ch)) return 'control character';
  if (/^\p{Cf}$/u.test(ch)) return 'invisible format character';
  if (/^\p{Zs}$/u.test(ch)) return 'space';
  if (/^\p{M}$/u.test(ch)) return 'combining mark';
  const compat = ch.normalize('NFKC');
  if (compat !== ch && /^[\x21-\x7e]+$/.test(compat)) {
    const form = cp >= 0xff01 && cp <= 0xff5e ? 'fullwidth' : 'compatibility';
    return `${form} form of "${compat}"`;
  }
  const base = ch.normalize('NFD');
  if (base.length > 1 && /^[A-Za-z]$/.test(base[0]!)) return `"${base[0]}" with a diacritic`;
  const kind = /^\p{L}$/u.test(ch)
    ? 'letter'
    : /^\p{N}$/u.test(ch)
      ? 'digit'
      : /^\p{P}$/u.test(ch)
        ? 'punctuation'
        : /^\p{S}$/u.test(ch)
          ? 'symbol'
          : 'character';
  const script = SCRIPTS.find((s) => s.re.test(ch));
  return script ? `${script.name} ${kind}` : kind;
}

/**
 * The name in quotes, printable ASCII as written and everything else escaped (`"sk\u043Ech"`),
 * followed by what the escaped characters are when there are any.
 */
export function showName(name: string): string {
  const cps = [...name];
  const shown = cps.slice(0, MAX_NAME_CODE_POINTS);
  const odd: string[] = [];
  let text = '';
  for (const ch of shown) {
    if (PRINTABLE_ASCII.test(ch)) {
      text += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    text += escapeCodePoint(cp);
    const label = `${codePointLabel(cp)} ${describeCharacter(ch)}`;
    if (!odd.includes(label)) odd.push(label);
  }
  let out = `"${text}"`;
  if (cps.length > shown.length) out += `… (${cps.length} characters)`;
  if (odd.length) {
    const listed = odd.slice(0, MAX_DESCRIBED).join(', ');
    const more = odd.length > MAX_DESCRIBED ? ` and ${odd.length - MAX_DESCRIBED} more` : '';
    const what = odd.every((l) => /^U\+00[0-7]/.test(l)) ? 'non-printable' : 'non-ASCII';
    out += ` (contains ${what} ${listed}${more})`;
  }
  return out;
}

/** R9's per-object error for a user the tenant does not have. */
export function unknownUserMessage(sourceId: string, user: string, tenantId: string, importId: number): string {
  return `object ${sourceId}: unknown onOffice user ${showName(user)} for tenant ${tenantId}; add the user to the configuration and replay import ${importId}`;
}
