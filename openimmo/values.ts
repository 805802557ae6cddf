/**
 * Pure parsing of OpenImmo leaf values as they are found in the wild.
 *
 * The low-level parsers return `undefined` for "unreadable" so callers can tell it apart from "absent"
 * (null/empty input, which is not worth a warning). The `*Field` helpers add the warning naming the field.
 */

/** Keep warnings short: a broken value can be a whole paragraph, and warnings end up in logs. */
const MAX_VALUE_IN_WARNING = 60;

export function quoteForWarning(value: string): string {
  const v = value.length > MAX_VALUE_IN_WARNING ? `${value.slice(0, MAX_VALUE_IN_WARNING)}…` : value;
  return JSON.stringify(v);
}

/**
 * Warning text for an unreadable value. `personal` fields (anything from an address) never echo the
 * value: warnings go to logs and the import ledger, personal data must not.
 */
export function unreadable(field: string, what: string, value: string, personal = false): string {
  return personal ? `${field}: unreadable ${what}` : `${field}: unreadable ${what} ${quoteForWarning(value)}`;
}

// ---------------------------------------------------------------------------------------------------------
// Booleans

/** true/false/1/0/JA/NEIN in any case (OpenImmo's xs:boolean plus what German exporters write). */
export function parseBoolean(raw: string): boolean | undefined {
  const s = raw.trim().toLowerCase();
  switch (s) {
    case 'true':
    case '1':
    case 'ja':
    case 'j':
    case 'yes':
      return true;
    case 'false':
    case '0':
    case 'nein':
    case 'n':
    case 'no':
      return false;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Numbers

const PLAIN_NUMBER = /^[+-]?\d+(?:\.\d+)?$/;
/** Units some exporters append to prices and areas; they carry no information the field name lacks. */
const UNIT_SUFFIX = /(?:€|eur|euro|m²|m2|qm|%)$/i;
const NUMBER_SHAPE = /^[+-]?[\d.,]+$/;

/**
 * A decimal with a dot (the schema's xs:decimal) or a German comma, tolerating thousands separators
 * (`1.250.000,00`, `1,250,000.00`, `1 250 000`, `1'250'000`). A single separator followed by digits is
 * a decimal separator (`1.250` is 1.25, `84,5` is 84.5): the schema uses dots for decimals, and a lone
 * German comma is a decimal comma far more often than an English thousands separator.
 */
export function parseDecimal(raw: string): number | undefined {
  let s = raw.trim();
  if (PLAIN_NUMBER.test(s)) return Number(s); // the common case, kept cheap
  s = s.replace(/[\s\u00a0\u202f'’]/g, '').replace(UNIT_SUFFIX, '');
  if (s === '' || !NUMBER_SHAPE.test(s)) return undefined;
  let sign = '';
  if (s[0] === '+' || s[0] === '-') {
    sign = s[0] === '-' ? '-' : '';
    s = s.slice(1);
  }
  const lastDot = s.lastIndexOf('.');
  const lastComma = s.lastIndexOf(',');
  let intPart: string;
  let fracPart = '';
  let thousands: string | null = null;
  if (lastDot >= 0 && lastComma >= 0) {
    const decimalSep = lastDot > lastComma ? '.' : ',';
    thousands = decimalSep === '.' ? ',' : '.';
    const at = Math.max(lastDot, lastComma);
    intPart = s.slice(0, at);
    fracPart = s.slice(at + 1);
    if (intPart.includes(decimalSep)) return undefined;
  } else if (lastDot >= 0 || lastComma >= 0) {
    const sep = lastDot >= 0 ? '.' : ',';
    const count = s.split(sep).length - 1;
    if (count > 1) {
      thousands = sep;
      intPart = s;
    } else {
      const at = s.indexOf(sep);
      intPart = s.slice(0, at);
      fracPart = s.slice(at + 1);
    }
  } else {
    intPart = s;
  }
  if (thousands !== null && intPart.includes(thousands)) {
    const groups = intPart.split(thousands);
    if (!/^\d{1,3}$/.test(groups[0]!) || groups.slice(1).some((g) => !/^\d{3}$/.test(g))) return undefined;
    intPart = groups.join('');
  }
  if (!/^\d*$/.test(intPart) || !/^\d*$/.test(fracPart) || (intPart === '' && fracPart === '')) return undefined;
  const n = Number(`${sign}${intPart || '0'}${fracPart ? `.${fracPart}` : ''}`);
  return Number.isFinite(n) ? n : undefined;
}

/** An integer, also when written as a decimal with a zero fraction (`3.0`, `1.968` is not one). */
export function parseInteger(raw: string): number | undefined {
  const s = raw.trim();
  if (/^[+-]?\d+$/.test(s)) return Number(s);
  const n = parseDecimal(s);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Dates and timestamps

const ISO_DATE_TIME = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const GERMAN_DATE_TIME = /^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

interface DateParts {
  year: number;
  month: number;
  day: number;
  time: { hour: number; minute: number; second: number; ms: number; offsetMinutes: number } | null;
}

function parseParts(raw: string): DateParts | undefined {
  const s = raw.trim();
  let year: number, month: number, day: number;
  let hh: string | undefined, mm: string | undefined, ss: string | undefined, frac: string | undefined;
  let zone: string | undefined;
  let m = ISO_DATE_TIME.exec(s);
  if (m) {
    [, , , , hh, mm, ss, frac, zone] = m;
    year = Number(m[1]);
    month = Number(m[2]);
    day = Number(m[3]);
  } else if ((m = GERMAN_DATE_TIME.exec(s))) {
    [, , , , hh, mm, ss] = m;
    year = Number(m[3]);
    month = Number(m[2]);
    day = Number(m[1]);
  } else {
    return undefined;
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hh === undefined) {
    // A zone on a bare date (xs:date allows `2026-11-20+01:00`) does not move the calendar day.
    return { year, month, day, time: null };
  }
  const hour = Number(hh);
  const minute = Number(mm);
  // A leap second is clamped: Date cannot represent it and nothing here needs it.
  const second = Math.min(Number(ss ?? '0'), 59);
  if (hour > 23 || minute > 59 || Number(ss ?? '0') > 60) return undefined;
  // Any number of fraction digits: milliseconds are kept, the rest is truncated.
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  let offsetMinutes = 0;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
    if (!zm) return undefined;
    const oh = Number(zm[2]);
    const om = Number(zm[3] ?? '0');
    if (oh > 14 || om > 59) return undefined;
    offsetMinutes = (zm[1] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // Without a zone we cannot know the sender's; reading it as UTC keeps times of one sender comparable.
  return { year, month, day, time: { hour, minute, second, ms, offsetMinutes } };
}

function partsToIso(p: DateParts): string {
  if (!p.time) return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
  const t = p.time;
  const ms = Date.UTC(p.year, p.month - 1, p.day, t.hour, t.minute, t.second, t.ms) - t.offsetMinutes * 60_000;
  return new Date(ms).toISOString();
}

/**
 * A date (`YYYY-MM-DD`, also German `DD.MM.YYYY`) stays a date; a date-time with any fraction and with
 * or without a zone becomes an ISO-8601 UTC string. `stand_vom` is one or the other in the wild.
 */
export function parseDateOrTimestamp(raw: string): string | undefined {
  const p = parseParts(raw);
  return p ? partsToIso(p) : undefined;
}

/** Always a UTC date-time (a bare date is midnight UTC): for uebertragung/@timestamp. */
export function parseTimestamp(raw: string): string | undefined {
  const p = parseParts(raw);
  if (!p) return undefined;
  if (!p.time) p.time = { hour: 0, minute: 0, second: 0, ms: 0, offsetMinutes: 0 };
  return partsToIso(p);
}

/** Only the calendar date (`YYYY-MM-DD`), also of a date-time (as written, before any zone shift). */
export function parseDate(raw: string): string | undefined {
  const p = parseParts(raw);
  return p ? `${p.year}-${pad(p.month)}-${pad(p.day)}` : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Countries

/** ISO 3166-1 alpha-2 → alpha-3, all 249 officially assigned codes (laid out by hand, by initial letter). */
// prettier-ignore
export const ISO_ALPHA2_TO_ALPHA3: Readonly<Record<string, string>> = Object.freeze({
  AD: 'AND', AE: 'ARE', AF: 'AFG', AG: 'ATG', AI: 'AIA', AL: 'ALB', AM: 'ARM', AO: 'AGO', AQ: 'ATA',
  AR: 'ARG', AS: 'ASM', AT: 'AUT', AU: 'AUS', AW: 'ABW', AX: 'ALA', AZ: 'AZE',
  BA: 'BIH', BB: 'BRB', BD: 'BGD', BE: 'BEL', BF: 'BFA', BG: 'BGR', BH: 'BHR', BI: 'BDI', BJ: 'BEN',
  BL: 'BLM', BM: 'BMU', BN: 'BRN', BO: 'BOL', BQ: 'BES', BR: 'BRA', BS: 'BHS', BT: 'BTN', BV: 'BVT',
  BW: 'BWA', BY: 'BLR', BZ: 'BLZ',
  CA: 'CAN', CC: 'CCK', CD: 'COD', CF: 'CAF', CG: 'COG', CH: 'CHE', CI: 'CIV', CK: 'COK', CL: 'CHL',
  CM: 'CMR', CN: 'CHN', CO: 'COL', CR: 'CRI', CU: 'CUB', CV: 'CPV', CW: 'CUW', CX: 'CXR', CY: 'CYP',
  CZ: 'CZE',
  DE: 'DEU', DJ: 'DJI', DK: 'DNK', DM: 'DMA', DO: 'DOM', DZ: 'DZA',
  EC: 'ECU', EE: 'EST', EG: 'EGY', EH: 'ESH', ER: 'ERI', ES: 'ESP', ET: 'ETH',
  FI: 'FIN', FJ: 'FJI', FK: 'FLK', FM: 'FSM', FO: 'FRO', FR: 'FRA',
  GA: 'GAB', GB: 'GBR', GD: 'GRD', GE: 'GEO', GF: 'GUF', GG: 'GGY', GH: 'GHA', GI: 'GIB', GL: 'GRL',
  GM: 'GMB', GN: 'GIN', GP: 'GLP', GQ: 'GNQ', GR: 'GRC', GS: 'SGS', GT: 'GTM', GU: 'GUM', GW: 'GNB',
  GY: 'GUY',
  HK: 'HKG', HM: 'HMD', HN: 'HND', HR: 'HRV', HT: 'HTI', HU: 'HUN',
  ID: 'IDN', IE: 'IRL', IL: 'ISR', IM: 'IMN', IN: 'IND', IO: 'IOT', IQ: 'IRQ', IR: 'IRN', IS: 'ISL',
  IT: 'ITA',
  JE: 'JEY', JM: 'JAM', JO: 'JOR', JP: 'JPN',
  KE: 'KEN', KG: 'KGZ', KH: 'KHM', KI: 'KIR', KM: 'COM', KN: 'KNA', KP: 'PRK', KR: 'KOR', KW: 'KWT',
  KY: 'CYM', KZ: 'KAZ',
  LA: 'LAO', LB: 'LBN', LC: 'LCA', LI: 'LIE', LK: 'LKA', LR: 'LBR', LS: 'LSO', LT: 'LTU', LU: 'LUX',
  LV: 'LVA', LY: 'LBY',
  MA: 'MAR', MC: 'MCO', MD: 'MDA', ME: 'MNE', MF: 'MAF', MG: 'MDG', MH: 'MHL', MK: 'MKD', ML: 'MLI',
  MM: 'MMR', MN: 'MNG', MO: 'MAC', MP: 'MNP', MQ: 'MTQ', MR: 'MRT', MS: 'MSR', MT: 'MLT', MU: 'MUS',
  MV: 'MDV', MW: 'MWI', MX: 'MEX', MY: 'MYS', MZ: 'MOZ',
  NA: 'NAM', NC: 'NCL', NE: 'NER', NF: 'NFK', NG: 'NGA', NI: 'NIC', NL: 'NLD', NO: 'NOR', NP: 'NPL',
  NR: 'NRU', NU: 'NIU', NZ: 'NZL',
  OM: 'OMN',
  PA: 'PAN', PE: 'PER', PF: 'PYF', PG: 'PNG', PH: 'PHL', PK: 'PAK', PL: 'POL', PM: 'SPM', PN: 'PCN',
  PR: 'PRI', PS: 'PSE', PT: 'PRT', PW: 'PLW', PY: 'PRY',
  QA: 'QAT',
  RE: 'REU', RO: 'ROU', RS: 'SRB', RU: 'RUS', RW: 'RWA',
  SA: 'SAU', SB: 'SLB', SC: 'SYC', SD: 'SDN', SE: 'SWE', SG: 'SGP', SH: 'SHN', SI: 'SVN', SJ: 'SJM',
  SK: 'SVK', SL: 'SLE', SM: 'SMR', SN: 'SEN', SO: 'SOM', SR: 'SUR', SS: 'SSD', ST: 'STP', SV: 'SLV',
  SX: 'SXM', SY: 'SYR', SZ: 'SWZ',
  TC: 'TCA', TD: 'TCD', TF: 'ATF', TG: 'TGO', TH: 'THA', TJ: 'TJK', TK: 'TKL', TL: 'TLS', TM: 'TKM',
  TN: 'TUN', TO: 'TON', TR: 'TUR', TT: 'TTO', TV: 'TUV', TW: 'TWN', TZ: 'TZA',
  UA: 'UKR', UG: 'UGA', UM: 'UMI', US: 'USA', UY: 'URY', UZ: 'UZB',
  VA: 'VAT', VC: 'VCT', VE: 'VEN', VG: 'VGB', VI: 'VIR', VN: 'VNM', VU: 'VUT',
  WF: 'WLF', WS: 'WSM',
  YE: 'YEM', YT: 'MYT',
  ZA: 'ZAF', ZM: 'ZMB', ZW: 'ZWE',
});

const ALPHA3 = new Set(Object.values(ISO_ALPHA2_TO_ALPHA3));

/**
 * Spellings seen in German exports that are not ISO alpha-2: EU/UK usage, the old vehicle letters and
 * the country names of the DACH region, where nearly all OpenImmo transfers come from.
 */
const COUNTRY_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  UK: 'GBR',
  EL: 'GRC',
  XK: 'XKX', // Kosovo: user-assigned, but what everyone uses
  D: 'DEU',
  A: 'AUT',
  DEUTSCHLAND: 'DEU',
  GERMANY: 'DEU',
  ÖSTERREICH: 'AUT',
  OESTERREICH: 'AUT',
  AUSTRIA: 'AUT',
  SCHWEIZ: 'CHE',
  SWITZERLAND: 'CHE',
});

/** Any country code we can read → ISO 3166-1 alpha-3 (upper-case); undefined when unknown. */
export function toAlpha3(raw: string): string | undefined {
  const s = raw.trim().toUpperCase();
  if (s.length === 3 && ALPHA3.has(s)) return s;
  if (s.length === 2) {
    const a3 = ISO_ALPHA2_TO_ALPHA3[s];
    if (a3) return a3;
  }
  return COUNTRY_ALIASES[s];
}

// ---------------------------------------------------------------------------------------------------------
// Damaged text

/**
 * What the second byte of a UTF-8 sequence (0x80–0xBF) becomes when read as Latin-1 or Windows-1252:
 * U+0080–U+00BF, and the Windows-1252 letters and punctuation at 0x80–0x9F (€ ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ).
 */
const CONTINUATION =
  '\\u0080-\\u00BF\\u0152\\u0153\\u0160\\u0161\\u0178\\u017D\\u017E\\u0192\\u02C6\\u02DC\\u2013\\u2014\\u2018-\\u201A\\u201C-\\u201E\\u2020-\\u2022\\u2026\\u2030\\u2039\\u203A\\u20AC\\u2122';
/**
 * UTF-8 read as Latin-1/Windows-1252 somewhere before us: `Ã¤` for ä, `ÃŸ` for ß, `Ã„` for Ä, `Â²` for ²,
 * `â‚¬` for €, `â€“` for –. Lead bytes C2/C3 (Â, Ã) and E2 (â) followed by continuation characters;
 * in German, French or English text these pairs do not occur.
 */
const MOJIBAKE = new RegExp(`[\\u00C2\\u00C3][${CONTINUATION}]|\\u00E2[${CONTINUATION}]{2}`);
const SUSPECT = /[\uFFFD\u00C2\u00C3\u00E2]/;

/** One cheap test (a character class): false for most text, which holds none of U+FFFD, Â, Ã, â. */
export function mayBeDamaged(s: string): boolean {
  return SUSPECT.test(s);
}

/**
 * Text the sender damaged before it reached us: `replacement` when it holds U+FFFD (characters already
 * lost: our decoding never writes one, see decode.ts), `mojibake` when it holds UTF-8 read as
 * Latin-1/Windows-1252. Null for ordinary text. Never repairs: the text stays as sent.
 */
export function textDamage(s: string): 'replacement' | 'mojibake' | null {
  if (!mayBeDamaged(s)) return null;
  if (s.includes('\uFFFD')) return 'replacement';
  return MOJIBAKE.test(s) ? 'mojibake' : null;
}

/** The warning for damaged text in `field`: names the field and the kind of damage, never the text. */
export function textDamageWarning(field: string, damage: 'replacement' | 'mojibake'): string {
  return damage === 'replacement'
    ? `${field}: holds U+FFFD, characters the sender's file had already lost`
    : `${field}: looks garbled (UTF-8 read as Latin-1 by the sender, such as "Ã¤" for "ä")`;
}

// ---------------------------------------------------------------------------------------------------------
// Field helpers: absent → null silently, unreadable → null plus a warning naming the field.

/** Trimmed text, null when absent or empty. */
export function textValue(raw: string | null | undefined): string | null {
  if (raw == null) return null;
  const s = raw.trim();
  return s === '' ? null : s;
}

/**
 * A field helper for one kind of value: absent → null silently, unreadable (`parse` gives undefined) →
 * null plus a warning naming the field. `personal` fields never echo the value (see {@link unreadable}).
 */
function fieldOf<T>(what: string, parse: (s: string) => T | undefined) {
  return (raw: string | null | undefined, field: string, warnings: string[], personal = false): T | null => {
    const s = textValue(raw);
    if (s === null) return null;
    const v = parse(s);
    if (v === undefined) {
      warnings.push(unreadable(field, what, s, personal));
      return null;
    }
    return v;
  };
}

export const booleanField = fieldOf('boolean', parseBoolean);
// 400 digits parse to Infinity, which JSON would turn into null without a word.
export const decimalField = fieldOf('number', (s) => {
  const n = parseDecimal(s);
  return n !== undefined && Number.isFinite(n) ? n : undefined;
});
export const integerField = fieldOf('integer', parseInteger);
export const dateOrTimestampField = fieldOf('date', parseDateOrTimestamp);
export const countryField = fieldOf('country code', toAlpha3);
