import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import {
  classifyEncoding,
  completeUtf8Prefix,
  decodeXml,
  decodeXmlBuffer,
  firstInvalidUtf8,
  guessUnmarkedWide,
  sniffHead,
  type DetectedEncoding,
} from '../../openimmo/decode';
import { readTransferBuffer } from '../../openimmo/reader';
import { caught, immobilie, transfer } from './helpers';

const LATIN1_DECL = '<?xml version="1.0" encoding="ISO-8859-1"?>';

async function decodeChunks(chunks: Buffer[]): Promise<{ text: string; detected: DetectedEncoding | null }> {
  let detected: DetectedEncoding | null = null;
  const parts: string[] = [];
  // A Node Readable, opened afresh each time (the Latin-1 path reads twice).
  for await (const s of decodeXml(() => Readable.from(chunks.map((c) => Buffer.from(c))), { onDetected: (d) => (detected = d) })) {
    parts.push(s);
  }
  return { text: parts.join(''), detected };
}

function splitEvery(buf: Buffer, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += n) out.push(buf.subarray(i, i + n));
  return out;
}

describe('declared ISO-8859-1 is read as windows-1252', () => {
  it('decodes € (0x80) and – (0x96), which TextDecoder gets wrong', async () => {
    const bytes = Buffer.concat([
      Buffer.from(`${LATIN1_DECL}<openimmo><t>`, 'latin1'),
      Buffer.from([0x80, 0x20, 0x96, 0x20, 0xfc, 0xe4, 0xdf, 0x84, 0x93]), // € – ü ä ß „ “
      Buffer.from('</t></openimmo>', 'latin1'),
    ]);
    const { text, detected } = await decodeChunks([bytes]);
    expect(text).toContain('<t>€ – üäß„“</t>');
    expect(detected).toMatchObject({ encoding: 'windows-1252', declared: 'ISO-8859-1', reason: 'declaration' });
    // The reason we do not use TextDecoder: it yields C1 controls for these bytes.
    expect(new TextDecoder('iso-8859-1').decode(Buffer.from([0x80]))).not.toBe('€');
  });

  it('a file declaring Latin-1 that is valid UTF-8 with multi-byte sequences is UTF-8 (decoded once)', async () => {
    const bytes = Buffer.from(`${LATIN1_DECL}<openimmo><ort>Lüdenscheid – Köln</ort></openimmo>`, 'utf8');
    const { text, detected } = await decodeChunks([bytes]);
    expect(text).toContain('<ort>Lüdenscheid – Köln</ort>');
    expect(text).not.toContain('Ã');
    expect(detected).toMatchObject({ encoding: 'utf-8', reason: 'utf8-content' });
    expect(detected!.note).toMatch(/valid UTF-8/);
  });

  it('pure ASCII with a Latin-1 declaration keeps the declaration', async () => {
    const { detected } = await decodeChunks([Buffer.from(`${LATIN1_DECL}<openimmo/>`)]);
    expect(detected).toMatchObject({ encoding: 'windows-1252', reason: 'declaration' });
  });

  it('a Latin-1 file whose bytes happen to be invalid UTF-8 late in the file stays Latin-1', async () => {
    const head = Buffer.from(`${LATIN1_DECL}<openimmo><a>${'x'.repeat(5000)}</a><b>`, 'latin1');
    const bytes = Buffer.concat([head, Buffer.from([0xfc]), Buffer.from('</b></openimmo>')]);
    const { text } = await decodeChunks(splitEvery(bytes, 1000));
    expect(text).toContain('<b>ü</b>');
  });

  it('other legacy encodings are decoded with iconv-lite (ISO-8859-15: € at 0xA4)', async () => {
    const bytes = Buffer.concat([
      Buffer.from('<?xml version="1.0" encoding="ISO-8859-15"?><openimmo><p>', 'latin1'),
      Buffer.from([0xa4]),
      Buffer.from('</p></openimmo>'),
    ]);
    expect(await decodeXmlBuffer(bytes)).toContain('<p>€</p>');
  });
});

describe('UTF-8', () => {
  it('a UTF-8 BOM is skipped and wins over the declaration', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${LATIN1_DECL}<openimmo>Köln</openimmo>`, 'utf8')]);
    const { text, detected } = await decodeChunks([bytes]);
    expect(text.startsWith('<?xml')).toBe(true);
    expect(text).toContain('Köln');
    expect(detected).toMatchObject({ encoding: 'utf-8', reason: 'bom', bomLength: 3 });
  });

  it('multi-byte sequences split across chunks come out whole (every split point)', async () => {
    const bytes = Buffer.from('<?xml version="1.0" encoding="UTF-8"?><openimmo>€ – 𝄞 Größe Ärger</openimmo>', 'utf8');
    for (const size of [1, 2, 3, 5, 7]) {
      const { text } = await decodeChunks(splitEvery(bytes, size));
      expect(text).toBe(bytes.toString('utf8'));
    }
  });

  it('no declaration, valid UTF-8 → UTF-8', async () => {
    const { text, detected } = await decodeChunks([Buffer.from('<openimmo>Köln</openimmo>', 'utf8')]);
    expect(text).toBe('<openimmo>Köln</openimmo>');
    expect(detected).toMatchObject({ encoding: 'utf-8', reason: 'default' });
  });

  it('no declaration, not UTF-8 → windows-1252, with a note', async () => {
    const bytes = Buffer.concat([Buffer.from('<openimmo>K'), Buffer.from([0xf6]), Buffer.from('ln</openimmo>')]);
    const { text, detected } = await decodeChunks([bytes]);
    expect(text).toBe('<openimmo>Köln</openimmo>');
    expect(detected).toMatchObject({ encoding: 'windows-1252', reason: 'default' });
    expect(detected!.note).toContain('byte offset 11');
  });

  it('invalid bytes in a declared UTF-8 file → EncodingError naming the byte offset', async () => {
    const head = Buffer.from('<?xml version="1.0" encoding="UTF-8"?><openimmo>', 'utf8');
    const bytes = Buffer.concat([head, Buffer.from('K'), Buffer.from([0xf6]), Buffer.from('ln</openimmo>')]);
    const err = await caught(decodeChunks(splitEvery(bytes, 7)));
    expect(err.type).toBe('EncodingError');
    expect(err.message).toContain(`byte offset ${head.length + 1}`);
    expect(err.detail).toEqual({ offset: head.length + 1 });
  });

  it('a sequence truncated at the end of the file → EncodingError', async () => {
    const bytes = Buffer.concat([Buffer.from('<?xml version="1.0" encoding="utf-8"?><openimmo>'), Buffer.from([0xe2, 0x82])]);
    const err = await caught(decodeChunks([bytes]));
    expect(err.type).toBe('EncodingError');
    expect(err.message).toMatch(/Truncated UTF-8 sequence at byte offset \d+/);
  });

  it('overlong encodings and surrogates are invalid', () => {
    expect(firstInvalidUtf8(Buffer.from([0x41, 0xc0, 0xaf]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0x41, 0xed, 0xa0, 0x80]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0x41, 0xe0, 0x80, 0xaf]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from('Köln', 'utf8'))).toBe(5);
  });

  it('completeUtf8Prefix stops before an incomplete trailing sequence', () => {
    const euro = Buffer.from('a€', 'utf8'); // 61 e2 82 ac
    expect(completeUtf8Prefix(euro)).toBe(4);
    expect(completeUtf8Prefix(euro.subarray(0, 3))).toBe(1);
    expect(completeUtf8Prefix(euro.subarray(0, 2))).toBe(1);
    expect(completeUtf8Prefix(Buffer.from('abc'))).toBe(3);
  });
});

describe('UTF-16', () => {
  const xml = '<?xml version="1.0" encoding="UTF-16"?><openimmo><ort>Köln €</ort></openimmo>';

  it('little-endian with BOM, split at odd offsets', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
    const { text, detected } = await decodeChunks(splitEvery(bytes, 3));
    expect(text).toBe(xml);
    expect(detected).toMatchObject({ encoding: 'utf-16le', reason: 'bom' });
  });

  it('big-endian with BOM', async () => {
    const bytes = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(xml, 'utf16le').swap16()]);
    const { text, detected } = await decodeChunks(splitEvery(bytes, 5));
    expect(text).toBe(xml);
    expect(detected).toMatchObject({ encoding: 'utf-16be' });
  });

  it('without BOM, recognised by the first characters', async () => {
    const { text } = await decodeChunks([Buffer.from(xml, 'utf16le')]);
    expect(text).toBe(xml);
  });
});

describe('UTF-16 with neither a byte-order mark nor an XML declaration (XML 1.0 §4.3.3, appendix F)', () => {
  const bare = '<openimmo><anbieter><ort>Köln</ort></anbieter></openimmo>';

  it('little-endian → EncodingError saying what it looks like, not MalformedXml "disallowed character"', async () => {
    const err = await caught(decodeXmlBuffer(Buffer.from(bare, 'utf16le')));
    expect(err.type).toBe('EncodingError');
    expect(err.message).toContain('looks like UTF-16LE without a byte-order mark');
    expect(err.message).toContain('no XML declaration');
    expect(err.detail).toEqual({ encoding: 'UTF-16LE' });
  });

  it('big-endian, and with leading whitespace before the root element', async () => {
    const err = await caught(decodeXmlBuffer(Buffer.from(`\r\n  ${bare}`, 'utf16le').swap16()));
    expect(err.type).toBe('EncodingError');
    expect(err.message).toContain('looks like UTF-16BE without a byte-order mark');
  });

  it('the reader reports it the same way (the whole file, not one object)', async () => {
    const err = await caught(readTransferBuffer(Buffer.from(transfer([immobilie({ id: '1' })]).replace(/^<\?xml[^>]*>\s*/, ''), 'utf16le')));
    expect(err.type).toBe('EncodingError');
    expect(err.message).toMatch(/^The file looks like UTF-16LE without a byte-order mark/);
  });

  it('UTF-32 without a byte-order mark is named too', async () => {
    const bytes = Buffer.alloc(bare.length * 4);
    for (let i = 0; i < bare.length; i++) bytes.writeUInt32LE(bare.charCodeAt(i), i * 4);
    const err = await caught(decodeXmlBuffer(bytes));
    expect(err.type).toBe('EncodingError');
    expect(err.message).toContain('looks like UTF-32LE');
  });

  it('the zero-byte pattern (pure): only wide encodings match, not text or binary', () => {
    expect(guessUnmarkedWide(Buffer.from(bare, 'utf16le'))).toEqual({ encoding: 'UTF-16LE', bytes: 64 });
    expect(guessUnmarkedWide(Buffer.from(bare, 'utf16le').swap16())?.encoding).toBe('UTF-16BE');
    expect(guessUnmarkedWide(Buffer.from('<a/>', 'utf16le'))).toEqual({ encoding: 'UTF-16LE', bytes: 8 });
    expect(guessUnmarkedWide(Buffer.from(bare, 'utf8'))).toBeNull();
    expect(guessUnmarkedWide(Buffer.from(bare, 'latin1'))).toBeNull();
    expect(guessUnmarkedWide(Buffer.from('<a', 'utf16le'))).toEqual({ encoding: 'UTF-16LE', bytes: 4 });
    expect(guessUnmarkedWide(Buffer.from('<', 'utf16le'))).toBeNull(); // too short to tell
    // Binary: zero bytes at even positions, but the first unit is no `<` and most units have no zero.
    expect(guessUnmarkedWide(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x80, 0x81, 0x00, 0x42]))).toBeNull();
    expect(guessUnmarkedWide(Buffer.from([0x3c, 0x00, 0x13, 0x37, 0x80, 0x81, 0x61, 0x00]))).toBeNull();
    // A PNG: zero bytes at even and odd positions.
    expect(guessUnmarkedWide(Buffer.from('89504e470d0a1a0a0000000d4948445200000010', 'hex'))).toBeNull();
    // With `<?` and a BOM the existing rules decide; the guess is not consulted.
    expect(sniffHead(Buffer.from('<?xml version="1.0"?><a/>', 'utf16le')).unmarkedWide).toBeNull();
    expect(sniffHead(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(bare, 'utf16le')])).unmarkedWide).toBeNull();
  });
});

describe('unsupported input', () => {
  it('an unknown declared encoding → EncodingError', async () => {
    const err = await caught(decodeXmlBuffer(Buffer.from('<?xml version="1.0" encoding="x-klingon"?><openimmo/>')));
    expect(err.type).toBe('EncodingError');
    expect(err.message).toContain('x-klingon');
  });

  it('UTF-32 → EncodingError', async () => {
    const err = await caught(decodeXmlBuffer(Buffer.from([0xff, 0xfe, 0, 0, 0x3c, 0, 0, 0])));
    expect(err.type).toBe('EncodingError');
  });

  it('the size limit → TooLarge', async () => {
    const err = await caught(decodeXmlBuffer(Buffer.from(`<openimmo>${'x'.repeat(1000)}</openimmo>`), { maxBytes: 100 }));
    expect(err.type).toBe('TooLarge');
  });
});

describe('sniffing', () => {
  it('reads the declaration with single quotes and odd spacing', () => {
    expect(sniffHead(Buffer.from(`<?xml version='1.0' encoding = 'iso-8859-1' standalone='yes'?>`)).declared).toBe('iso-8859-1');
    expect(sniffHead(Buffer.from('<?xml version="1.0"?><openimmo/>')).declared).toBeNull();
  });

  it('classifies encodings', () => {
    expect(classifyEncoding('ISO-8859-1')).toEqual({ kind: 'legacy', iconvName: 'windows-1252' });
    expect(classifyEncoding('latin1')).toEqual({ kind: 'legacy', iconvName: 'windows-1252' });
    expect(classifyEncoding('US-ASCII')).toEqual({ kind: 'legacy', iconvName: 'windows-1252' });
    expect(classifyEncoding('UTF8')).toEqual({ kind: 'utf-8' });
    expect(classifyEncoding('windows-1250').kind).toBe('legacy');
    expect(classifyEncoding('nonsense').kind).toBe('unknown');
  });

  it('never decodes twice: text that is already mojibake stays as it is (no repair heuristics)', async () => {
    // "Ã¼" stored as UTF-8 under a Latin-1 declaration: valid UTF-8 → decoded once, as UTF-8.
    const bytes = Buffer.from(`${LATIN1_DECL}<openimmo>Ã¼</openimmo>`, 'utf8');
    expect(await decodeXmlBuffer(bytes)).toContain('<openimmo>Ã¼</openimmo>');
  });

  it('by the rule, windows-1252 bytes that form valid UTF-8 are read as UTF-8 (the one ambiguity)', async () => {
    const bytes = iconv.encode(`${LATIN1_DECL}<openimmo>Ã¼</openimmo>`, 'windows-1252'); // C3 BC
    expect(await decodeXmlBuffer(bytes)).toContain('<openimmo>ü</openimmo>');
  });
});
