/** R9: an unknown onOffice user is named so that a look-alike cannot pass for the real name. */
import { describe, expect, it } from 'vitest';
import { describeCharacter, showName, unknownUserMessage } from '../../domain/users';

describe('R9: unknown user names in messages', () => {
  it('a Cyrillic о in "skoch" is escaped and named by code point and script', () => {
    const msg = unknownUserMessage('1001', 'sk\u043Ech', 'demo', 7);
    expect(msg).toBe(
      'object 1001: unknown onOffice user "sk\\u043Ech" (contains non-ASCII U+043E Cyrillic letter) for tenant demo; add the user to the configuration and replay import 7',
    );
    expect(msg).not.toContain('\u043E');
    expect(msg).toMatch(/^[\x20-\x7e]*$/); // the whole message is printable ASCII
  });

  it('fullwidth letters and a zero-width space', () => {
    expect(showName('\uFF53koch')).toBe('"\\uFF53koch" (contains non-ASCII U+FF53 fullwidth form of "s")');
    expect(showName('sko\u200Bch')).toBe('"sko\\u200Bch" (contains non-ASCII U+200B invisible format character)');
  });

  it('a plain ASCII name reads as before', () => {
    expect(unknownUserMessage('1', 'neu.kollege', 't', 1)).toContain('unknown onOffice user "neu.kollege" for tenant t;');
  });

  it('each code point is listed once, in order; quotes and backslashes are escaped', () => {
    expect(showName('\u0455\u043E\u043E "x\\"')).toBe(
      '"\\u0455\\u043E\\u043E \\"x\\\\\\"" (contains non-ASCII U+0455 Cyrillic letter, U+043E Cyrillic letter)',
    );
  });

  it('characters outside the BMP, controls, and names that are too long', () => {
    expect(showName('\u{1D42C}koch')).toBe('"\\u{1D42C}koch" (contains non-ASCII U+1D42C compatibility form of "s")');
    expect(showName('a\tb')).toBe('"a\\u0009b" (contains non-printable U+0009 control character)');
    const long = showName('x'.repeat(200));
    expect(long).toBe(`"${'x'.repeat(60)}"… (200 characters)`);
  });

  it('describes characters from Unicode properties', () => {
    expect(describeCharacter('\u03BF')).toBe('Greek letter');
    expect(describeCharacter('\u00E9')).toBe('"e" with a diacritic');
    expect(describeCharacter('\u00A0')).toBe('space');
    expect(describeCharacter('\uFEFF')).toBe('invisible format character');
    expect(describeCharacter('\u0301')).toBe('combining mark');
  });
});
