import { describe, expect, it } from 'vitest';
import {
  ISO_ALPHA2_TO_ALPHA3,
  booleanField,
  countryField,
  decimalField,
  integerField,
  parseBoolean,
  parseDate,
  parseDateOrTimestamp,
  parseDecimal,
  parseInteger,
  parseTimestamp,
  textDamage,
  textDamageWarning,
  toAlpha3,
} from '../../openimmo/values';

describe('booleans', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['True', true],
    ['1', true],
    ['JA', true],
    ['ja', true],
    ['Ja', true],
    ['false', false],
    ['FALSE', false],
    ['0', false],
    ['NEIN', false],
    ['nein', false],
    [' Nein ', false],
  ])('%j → %j', (raw, expected) => {
    expect(parseBoolean(raw)).toBe(expected);
  });

  it('unreadable → null and a warning naming the field', () => {
    const w: string[] = [];
    expect(booleanField('vielleicht', 'verwaltung_objekt/objektadresse_freigeben', w)).toBeNull();
    expect(w).toEqual(['verwaltung_objekt/objektadresse_freigeben: unreadable boolean "vielleicht"']);
  });

  it('absent or empty → null without a warning', () => {
    const w: string[] = [];
    expect(booleanField(null, 'x', w)).toBeNull();
    expect(booleanField('  ', 'x', w)).toBeNull();
    expect(w).toEqual([]);
  });
});

describe('decimals', () => {
  it.each([
    ['389000.00', 389000],
    ['84.50', 84.5],
    ['84,5', 84.5],
    ['1.250.000,00', 1250000],
    ['1,250,000.00', 1250000],
    ['1.250.000', 1250000],
    ['1 250 000', 1250000],
    ["1'250'000", 1250000],
    ['-3,5', -3.5],
    ['+7', 7],
    ['1.5', 1.5],
    ['1.250', 1.25], // a single dot is a decimal dot (the schema's xs:decimal)
    ['940.0', 940],
    ['389.000,00 €', 389000],
    ['84,5 m²', 84.5],
    ['0', 0],
    [',5', 0.5],
  ])('%j → %j', (raw, expected) => {
    expect(parseDecimal(raw)).toBe(expected);
  });

  it.each(['', 'abc', '1.2.3,4.5', '12,34,5', '1.25.000', 'auf Anfrage', '1e5', '--1', '1,2,3.4.5'])('%j is unreadable', (raw) => {
    expect(parseDecimal(raw)).toBeUndefined();
  });

  it('warning names field and value', () => {
    const w: string[] = [];
    expect(decimalField('auf Anfrage', 'preise/kaufpreis', w)).toBeNull();
    expect(w).toEqual(['preise/kaufpreis: unreadable number "auf Anfrage"']);
  });

  it('long values are shortened in warnings', () => {
    const w: string[] = [];
    decimalField('x'.repeat(500), 'preise/kaufpreis', w);
    expect(w[0]!.length).toBeLessThan(120);
  });
});

describe('integers', () => {
  it.each([
    ['1968', 1968],
    ['3.0', 3],
    ['  42 ', 42],
    ['-1', -1],
  ])('%j → %j', (raw, expected) => {
    expect(parseInteger(raw)).toBe(expected);
  });

  it.each(['3.5', 'ca. 1900', '1900/1901', ''])('%j is unreadable', (raw) => {
    expect(parseInteger(raw)).toBeUndefined();
  });

  it('integerField warns', () => {
    const w: string[] = [];
    expect(integerField('ca. 1900', 'zustand_angaben/baujahr', w)).toBeNull();
    expect(w[0]).toContain('zustand_angaben/baujahr');
    expect(w[0]).toContain('ca. 1900');
  });
});

describe('dates and timestamps', () => {
  it('a date stays a date', () => {
    expect(parseDateOrTimestamp('2026-11-20')).toBe('2026-11-20');
    expect(parseDateOrTimestamp('20.11.2026')).toBe('2026-11-20');
    expect(parseDateOrTimestamp('2026-11-20+01:00')).toBe('2026-11-20');
  });

  it.each([
    ['2026-11-20T09:15:00+01:00', '2026-11-20T08:15:00.000Z'],
    ['2026-11-20T09:15:00Z', '2026-11-20T09:15:00.000Z'],
    ['2026-11-20T09:15:00', '2026-11-20T09:15:00.000Z'], // no zone: read as UTC
    ['2026-11-20 09:15:00', '2026-11-20T09:15:00.000Z'],
    ['2026-11-20T09:15', '2026-11-20T09:15:00.000Z'],
    ['2026-11-20T09:15:00.1', '2026-11-20T09:15:00.100Z'],
    ['2026-11-20T09:15:00.123456789+02:00', '2026-11-20T07:15:00.123Z'],
    ['2026-11-20T09:15:00,5', '2026-11-20T09:15:00.500Z'],
    ['2026-11-20T00:30:00+0100', '2026-11-19T23:30:00.000Z'],
    ['2026-11-20T23:30:00-05', '2026-11-21T04:30:00.000Z'],
    ['20.11.2026 09:15', '2026-11-20T09:15:00.000Z'],
  ])('%j → %j', (raw, expected) => {
    expect(parseDateOrTimestamp(raw)).toBe(expected);
    expect(parseTimestamp(raw)).toBe(expected);
  });

  it('parseTimestamp turns a bare date into midnight UTC', () => {
    expect(parseTimestamp('2026-11-20')).toBe('2026-11-20T00:00:00.000Z');
  });

  it('parseDate keeps the calendar date as written', () => {
    expect(parseDate('2026-11-20T23:30:00-05:00')).toBe('2026-11-20');
  });

  it.each(['2026-02-30', '2026-13-01', '2026-11-20T25:00:00', 'nach Absprache', 'sofort', '2026-11-20T10:00:00+15:00'])('%j is not a date', (raw) => {
    expect(parseDateOrTimestamp(raw)).toBeUndefined();
  });

  it('leap day', () => {
    expect(parseDateOrTimestamp('2024-02-29')).toBe('2024-02-29');
    expect(parseDateOrTimestamp('2025-02-29')).toBeUndefined();
  });
});

describe('countries', () => {
  it('has all 249 ISO 3166-1 codes, each alpha-3 unique', () => {
    const entries = Object.entries(ISO_ALPHA2_TO_ALPHA3);
    expect(entries).toHaveLength(249);
    expect(new Set(entries.map(([, v]) => v)).size).toBe(249);
    for (const [a2, a3] of entries) {
      expect(a2).toMatch(/^[A-Z]{2}$/);
      expect(a3).toMatch(/^[A-Z]{3}$/);
    }
  });

  it.each([
    ['DE', 'DEU'],
    ['de', 'DEU'],
    ['AT', 'AUT'],
    ['CH', 'CHE'],
    ['GB', 'GBR'],
    ['US', 'USA'],
    ['NL', 'NLD'],
    ['PL', 'POL'],
    ['TR', 'TUR'],
    ['ES', 'ESP'],
    ['KM', 'COM'],
    ['UK', 'GBR'],
    ['DEU', 'DEU'],
    ['deu', 'DEU'],
    ['Deutschland', 'DEU'],
    ['Österreich', 'AUT'],
  ])('%j → %j', (raw, expected) => {
    expect(toAlpha3(raw)).toBe(expected);
  });

  it('unknown codes → null with a warning; personal fields do not echo the value', () => {
    const w: string[] = [];
    expect(countryField('XY', 'geo/land/@iso_land', w)).toBeNull();
    expect(countryField('QQQ', 'kontaktperson/land/@iso_land', w, true)).toBeNull();
    expect(w).toEqual(['geo/land/@iso_land: unreadable country code "XY"', 'kontaktperson/land/@iso_land: unreadable country code']);
  });
});

describe('damaged text (sent with U+FFFD or as mojibake)', () => {
  it('U+FFFD: characters the sender had already lost', () => {
    expect(textDamage('K\uFFFDln')).toBe('replacement');
    expect(textDamage('Gr\uFFFD\uFFFDe Wohnung, Ã¤ too')).toBe('replacement');
  });

  it('UTF-8 read as Latin-1 or Windows-1252: umlauts, ß, capitals, €, dashes, quotes, ²', () => {
    for (const s of [
      'SchÃ¶ne Wohnung',
      'KÃ¼che',
      'Ã¤',
      'StraÃŸe',
      'Ã„rzte',
      'Ã–l',
      'Ãœbersicht',
      'Preis 5 â‚¬',
      'Bonn â€“ Beuel',
      'â€žschÃ¶nâ€œ',
      '85 mÂ²',
      'Stra\u00C3\u009Fe',
      'Ã\u0084rzte',
    ]) {
      expect(textDamage(s), s).toBe('mojibake');
    }
  });

  it('ordinary text in German, French, Portuguese and with symbols is not', () => {
    for (const s of [
      'Schöne Wohnung in Köln',
      'Straße',
      'Ärzte, Öl, Übersicht',
      '5 € – „schön“',
      '85 m²',
      'château, crème brûlée',
      'São Paulo, Ângela',
      'Ã',
      '',
    ]) {
      expect(textDamage(s), s).toBeNull();
    }
  });

  it('the warning names the field and the kind of damage, never the text', () => {
    expect(textDamageWarning('freitexte/objekttitel', 'replacement')).toBe(
      "freitexte/objekttitel: holds U+FFFD, characters the sender's file had already lost",
    );
    expect(textDamageWarning('kontaktperson/name', 'mojibake')).toBe(
      'kontaktperson/name: looks garbled (UTF-8 read as Latin-1 by the sender, such as "Ã¤" for "ä")',
    );
  });
});
