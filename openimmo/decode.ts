/**
 * Bytes → text for OpenImmo XML, streaming.
 *
 * Order of evidence (design §3): a BOM, then the XML declaration's encoding, then "is it valid UTF-8".
 * Files in the wild declare ISO-8859-1 while writing windows-1252 (€ and – in 0x80–0x9F), and some
 * declare Latin-1 while actually writing UTF-8. Each byte is decoded exactly once, by one decoder, so
 * text is never decoded twice (the classic "GrÃ¶ÃŸe" damage).
 *
 * Why not TextDecoder: Node 20's `windows-1252`/`iso-8859-1` labels decode 0x80–0x9F as C1 controls
 * (see shared/notes.md); iconv-lite decodes them as the characters they are.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import { TransferError } from './errors';

/** Opens the byte stream again from the start: a second pass is needed when only the content can tell. */
export type ByteSource = () => AsyncIterable<Buffer> | Promise<AsyncIterable<Buffer>>;

export type EncodingReason = 'bom' | 'declaration' | 'utf8-content' | 'default';

export interface DetectedEncoding {
  /** The decoder used: `utf-8`, `utf-16le`, `utf-16be`, or an iconv-lite name such as `windows-1252`. */
  encoding: string;
  /** What the XML declaration said, as written (null without a declaration). */
  declared: string | null;
  reason: EncodingReason;
  /** Bytes of BOM skipped before decoding. */
  bomLength: number;
  /** Set when we did not follow the declaration, saying why (for the import log; no content). */
  note: string | null;
}

export interface DecodeOptions {
  /** Reject the stream once it exceeds this many bytes (TooLarge). */
  maxBytes?: number;
  /** Called once the encoding is known, before the first text is yielded. */
  onDetected?: (e: DetectedEncoding) => void;
}

/** How many bytes we look at for the BOM and the XML declaration. */
const HEAD_BYTES = 1024;

// ---------------------------------------------------------------------------------------------------------
// Sniffing (pure)

export interface HeadInfo {
  bom: 'utf-8' | 'utf-16le' | 'utf-16be' | 'utf-32' | null;
  bomLength: number;
  /** UTF-16 without BOM, recognised by `<?` as 16-bit units (XML 1.0 appendix F). */
  utf16NoBom: 'utf-16le' | 'utf-16be' | null;
  /**
   * Neither a BOM nor `<?`, but NUL bytes in the pattern of a 16- or 32-bit encoding (every other
   * byte 0, or three of four): such a file is not UTF-8 or any single-byte encoding (XML allows no NUL).
   */
  unmarkedWide: WideGuess | null;
  declared: string | null;
}

export interface WideGuess {
  encoding: 'UTF-16LE' | 'UTF-16BE' | 'UTF-32LE' | 'UTF-32BE';
  /** How many leading bytes showed the pattern. */
  bytes: number;
}

/** Bytes looked at for the NUL pattern: the start of any OpenImmo file is ASCII markup. */
const WIDE_SNIFF_BYTES = 64;

/** What an XML document can start with (after no BOM): `<` or white space. */
const XML_START = new Set([0x3c, 0x20, 0x09, 0x0d, 0x0a]);

/**
 * XML 1.0 appendix F's table applied to files that start with neither a BOM nor `<?`: the first
 * character is `<` or white space as a 16- or 32-bit unit, and in the first bytes the zero bytes sit
 * where ASCII markup in that encoding puts them (every odd byte for UTF-16LE, every even one for
 * UTF-16BE, three of four for UTF-32) and nowhere else. Only the pattern is reported; nothing is
 * decoded from it.
 */
export function guessUnmarkedWide(head: Buffer): WideGuess | null {
  const n32 = Math.min(head.length, WIDE_SNIFF_BYTES) & ~3;
  if (n32 >= 8) {
    if (XML_START.has(head[0]!) && head[1] === 0 && head[2] === 0 && head[3] === 0) return { encoding: 'UTF-32LE', bytes: n32 };
    if (head[0] === 0 && head[1] === 0 && head[2] === 0 && XML_START.has(head[3]!)) return { encoding: 'UTF-32BE', bytes: n32 };
  }
  const n16 = Math.min(head.length, WIDE_SNIFF_BYTES) & ~1;
  if (n16 < 4) return null;
  let zerosEven = 0;
  let zerosOdd = 0;
  for (let i = 0; i < n16; i++) {
    if (head[i] !== 0) continue;
    if (i % 2 === 0) zerosEven++;
    else zerosOdd++;
  }
  // Nearly every unit of markup is ASCII: at least three in four show the zero, none the other way round.
  const enough = (zeros: number) => zeros * 8 >= n16 * 3;
  if (XML_START.has(head[0]!) && head[1] === 0 && zerosEven === 0 && enough(zerosOdd)) return { encoding: 'UTF-16LE', bytes: n16 };
  if (head[0] === 0 && XML_START.has(head[1]!) && zerosOdd === 0 && enough(zerosEven)) return { encoding: 'UTF-16BE', bytes: n16 };
  return null;
}

const DECLARATION = /^\s*<\?xml\s[^>]*?\bencoding\s*=\s*(["'])\s*([A-Za-z][A-Za-z0-9._:-]*)\s*\1/;

export function sniffHead(head: Buffer): HeadInfo {
  const b0 = head[0],
    b1 = head[1],
    b2 = head[2],
    b3 = head[3];
  let bom: HeadInfo['bom'] = null;
  let bomLength = 0;
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) {
    bom = 'utf-8';
    bomLength = 3;
  } else if ((b0 === 0x00 && b1 === 0x00 && b2 === 0xfe && b3 === 0xff) || (b0 === 0xff && b1 === 0xfe && b2 === 0x00 && b3 === 0x00)) {
    bom = 'utf-32';
    bomLength = 4;
  } else if (b0 === 0xfe && b1 === 0xff) {
    bom = 'utf-16be';
    bomLength = 2;
  } else if (b0 === 0xff && b1 === 0xfe) {
    bom = 'utf-16le';
    bomLength = 2;
  }
  let utf16NoBom: HeadInfo['utf16NoBom'] = null;
  if (!bom) {
    if (b0 === 0x3c && b1 === 0x00 && b2 === 0x3f && b3 === 0x00) utf16NoBom = 'utf-16le';
    else if (b0 === 0x00 && b1 === 0x3c && b2 === 0x00 && b3 === 0x3f) utf16NoBom = 'utf-16be';
  }
  const unmarkedWide = !bom && !utf16NoBom ? guessUnmarkedWide(head) : null;
  let declared: string | null = null;
  const bytes = head.subarray(bomLength);
  let headText: string;
  if (bom === 'utf-16le' || utf16NoBom === 'utf-16le') headText = bytes.toString('utf16le');
  else if (bom === 'utf-16be' || utf16NoBom === 'utf-16be') headText = swap16(bytes).toString('utf16le');
  else headText = bytes.toString('latin1'); // the declaration is ASCII; latin1 maps bytes 1:1
  const m = DECLARATION.exec(headText);
  if (m) declared = m[2]!;
  return { bom, bomLength, utf16NoBom, unmarkedWide, declared };
}

function swap16(b: Buffer): Buffer {
  const even = b.length - (b.length % 2);
  const copy = Buffer.from(b.subarray(0, even));
  return copy.swap16();
}

type EncodingFamily =
  | { kind: 'utf-8' }
  | { kind: 'utf-16' }
  | { kind: 'legacy'; iconvName: string } // single/multi-byte non-Unicode: UTF-8 content check applies
  | { kind: 'unknown' };

/** Declared names → what we decode with. ISO-8859-1 and US-ASCII are read as their superset windows-1252. */
export function classifyEncoding(name: string): EncodingFamily {
  const n = name.trim().toLowerCase().replace(/_/g, '-');
  switch (n) {
    case 'utf-8':
    case 'utf8':
      return { kind: 'utf-8' };
    case 'utf-16':
    case 'utf-16le':
    case 'utf-16be':
    case 'utf16':
    case 'ucs-2':
      return { kind: 'utf-16' };
    case 'iso-8859-1':
    case 'iso8859-1':
    case 'iso-ir-100':
    case 'latin1':
    case 'latin-1':
    case 'l1':
    case 'cp819':
    case 'ibm819':
    case 'windows-1252':
    case 'cp1252':
    case 'x-cp1252':
    case 'us-ascii':
    case 'ascii':
      return { kind: 'legacy', iconvName: 'windows-1252' };
    default:
      if (/^utf-?32/.test(n)) return { kind: 'unknown' };
      return iconv.encodingExists(n) ? { kind: 'legacy', iconvName: n } : { kind: 'unknown' };
  }
}

// ---------------------------------------------------------------------------------------------------------
// UTF-8 validation with byte offsets

/**
 * Index just after the last complete UTF-8 sequence: a multi-byte sequence split across chunks is
 * carried over to the next chunk instead of being judged (or decoded) in halves.
 */
export function completeUtf8Prefix(buf: Buffer): number {
  const len = buf.length;
  // Look back at most 3 bytes for the start of the last sequence.
  for (let i = len - 1, k = 0; i >= 0 && k < 4; i--, k++) {
    const b = buf[i]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte
    const need = b < 0x80 ? 1 : (b & 0xe0) === 0xc0 ? 2 : (b & 0xf0) === 0xe0 ? 3 : (b & 0xf8) === 0xf0 ? 4 : 1;
    return i + need > len ? i : len;
  }
  return len;
}

/** Offset of the first invalid byte in `buf` (which must be invalid). Only runs on the error path. */
export function firstInvalidUtf8(buf: Buffer): number {
  let i = 0;
  const len = buf.length;
  while (i < len) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    if (i + need >= len) return i; // truncated at the end
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k]!;
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return len;
}

function encodingError(message: string, detail: Record<string, string | number>): TransferError {
  return new TransferError('EncodingError', message, detail);
}

function tooLarge(maxBytes: number): TransferError {
  return new TransferError('TooLarge', `The XML is larger than the limit of ${maxBytes} bytes`, { limit: maxBytes });
}

/** Streaming UTF-8 check for the pre-pass: valid? any multi-byte sequence? */
class Utf8Scanner {
  private carry: Buffer = Buffer.alloc(0);
  private offset = 0;
  valid = true;
  multibyte = false;
  /** Absolute offset of the first invalid byte, when invalid. */
  invalidAt = -1;

  push(chunk: Buffer): boolean {
    if (!this.valid) return false;
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const end = completeUtf8Prefix(buf);
    const seg = buf.subarray(0, end);
    if (!isUtf8(seg)) {
      this.valid = false;
      this.invalidAt = this.offset + firstInvalidUtf8(seg);
      return false;
    }
    if (!this.multibyte && !isAscii(seg)) this.multibyte = true;
    this.offset += end;
    this.carry = Buffer.from(buf.subarray(end));
    return true;
  }

  end(): boolean {
    if (this.valid && this.carry.length) {
      this.valid = false;
      this.invalidAt = this.offset;
    }
    return this.valid;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

async function* utf8Chunks(chunks: AsyncIterable<Buffer>, startOffset: number, why: string): AsyncGenerator<string> {
  let carry: Buffer | null = null;
  let offset = startOffset; // absolute byte offset of carry/buf start, for error messages
  for await (const chunk of chunks) {
    const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    const end = completeUtf8Prefix(buf);
    const seg = buf.subarray(0, end);
    if (!isUtf8(seg)) {
      const at = offset + firstInvalidUtf8(seg);
      throw encodingError(`Invalid UTF-8 at byte offset ${at} (${why})`, { offset: at });
    }
    if (end > 0) yield seg.toString('utf8');
    offset += end;
    carry = end < buf.length ? Buffer.from(buf.subarray(end)) : null;
  }
  if (carry) {
    throw encodingError(`Truncated UTF-8 sequence at byte offset ${offset} at the end of the file (${why})`, {
      offset,
    });
  }
}

/**
 * Legacy (non-Unicode) encodings through iconv-lite, which turns byte sequences that are invalid for
 * the encoding into U+FFFD. No legacy charset has a U+FFFD of its own, so one in the output means the
 * bytes were not what the declaration says: EncodingError instead of silently damaged text. The few
 * iconv-lite codecs that can encode any character (GB18030, UTF-7, CESU-8) are exempt.
 */
async function* iconvChunks(chunks: AsyncIterable<Buffer>, name: string, label: string): AsyncGenerator<string> {
  // iconv-lite's decoders keep state between writes, so code units split across chunks come out whole.
  const decoder = iconv.getDecoder(name, { stripBOM: false });
  const strict = !UNICODE_CAPABLE.test(name.toLowerCase().replace(/[-_]/g, ''));
  let line = 1;
  const check = (s: string): string => {
    if (strict) {
      const at = s.indexOf('\uFFFD');
      if (at >= 0) {
        line += countLines(s, at);
        throw encodingError(`Invalid byte sequence for the encoding ${label} in line ${line}`, { encoding: label, line });
      }
      line += countLines(s, s.length);
    }
    return s;
  };
  for await (const chunk of chunks) {
    const s = check(decoder.write(chunk));
    if (s) yield s;
  }
  const rest = decoder.end();
  if (rest) yield check(rest);
}

/** iconv-lite codecs (normalised: lower case, no `-`/`_`) for which U+FFFD is an ordinary character. */
const UNICODE_CAPABLE = /^(utf7|utf7imap|cesu8|gb18030)$/;

function countLines(s: string, end: number): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0 && i < end; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * windows-1252, also for declared ISO-8859-1 (design §3). Its five undefined bytes (0x81, 0x8D,
 * 0x8F, 0x90, 0x9D) are read as the C1 controls ISO-8859-1 has there, as the WHATWG decoder does:
 * lossless, where iconv-lite would write U+FFFD.
 */
const CP1252_HIGH: readonly string[] = (() => {
  const out: string[] = [];
  for (let b = 0x80; b <= 0x9f; b++) {
    const c = iconv.decode(Buffer.from([b]), 'windows-1252');
    out.push(c === '\uFFFD' ? String.fromCharCode(b) : c);
  }
  return out;
})();
const C1 = /[\x80-\x9f]/g;

function cp1252(buf: Buffer): string {
  const s = buf.toString('latin1'); // bytes 1:1 to U+0000–U+00FF; only 0x80–0x9F differ in windows-1252
  C1.lastIndex = 0;
  return C1.test(s) ? s.replace(C1, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]!) : s;
}

async function* cp1252Chunks(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  for await (const chunk of chunks) if (chunk.length) yield cp1252(chunk);
}

/**
 * UTF-16 through iconv-lite, which passes unpaired surrogates through and drops an odd last byte:
 * both are bytes that are not UTF-16, so both are an EncodingError (an unpaired surrogate could not be
 * stored in PostgreSQL either). A high surrogate at the end of a chunk waits for the next one.
 */
async function* utf16Chunks(chunks: AsyncIterable<Buffer>, name: string, startOffset: number, label: string): AsyncGenerator<string> {
  const decoder = iconv.getDecoder(name, { stripBOM: false });
  let bytes = 0;
  let units = 0; // UTF-16 code units yielded so far (offset = startOffset + 2 * units)
  let held = '';
  const check = (s: string, final: boolean): string => {
    s = held + s;
    held = '';
    if (!final && s.length) {
      const last = s.charCodeAt(s.length - 1);
      if (last >= 0xd800 && last <= 0xdbff) {
        held = s.slice(-1);
        s = s.slice(0, -1);
      }
    }
    LONE_SURROGATE.lastIndex = 0;
    const m = LONE_SURROGATE.exec(s);
    if (m) {
      const offset = startOffset + 2 * (units + m.index);
      const unit = m[0].charCodeAt(0).toString(16).toUpperCase();
      throw encodingError(`Invalid ${label} at byte offset ${offset}: an unpaired surrogate (0x${unit})`, { offset });
    }
    units += s.length;
    return s;
  };
  for await (const chunk of chunks) {
    bytes += chunk.length;
    const s = check(decoder.write(chunk) ?? '', false);
    if (s) yield s;
  }
  const rest = check(decoder.end() ?? '', true);
  if (rest) yield rest;
  if (bytes % 2 !== 0) {
    const offset = startOffset + bytes - 1;
    throw encodingError(`Truncated ${label}: an odd number of bytes, the last one (byte offset ${offset}) is half a character`, { offset });
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Wraps a byte stream: skips `skip` bytes at the start and enforces a size limit. */
async function* limited(first: Buffer[], rest: AsyncIterator<Buffer> | null, skip: number, maxBytes: number): AsyncGenerator<Buffer> {
  let total = 0;
  const pass = (b: Buffer): Buffer | null => {
    total += b.length;
    if (total > maxBytes) throw tooLarge(maxBytes);
    if (skip > 0) {
      const n = Math.min(skip, b.length);
      skip -= n;
      b = b.subarray(n);
    }
    return b.length ? b : null;
  };
  // The head's chunks are yielded inside the try too: a consumer that stops early (already within
  // the head) still closes the source, else its file stays open.
  try {
    for (const b of first) {
      const out = pass(b);
      if (out) yield out;
    }
    if (!rest) return;
    for (;;) {
      const r = await rest.next();
      if (r.done) break;
      const out = pass(toBuffer(r.value));
      if (out) yield out;
    }
  } finally {
    await rest?.return?.();
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'latin1');
  throw new TypeError('byte source yielded a non-binary chunk');
}

async function openIterator(open: ByteSource): Promise<AsyncIterator<Buffer>> {
  const src = await open();
  return src[Symbol.asyncIterator]();
}

/** Reads until we have HEAD_BYTES (or the end): enough for any BOM and a declaration. */
async function readHead(it: AsyncIterator<Buffer>): Promise<{ chunks: Buffer[]; done: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  while (size < HEAD_BYTES) {
    const r = await it.next();
    if (r.done) return { chunks, done: true };
    const b = toBuffer(r.value);
    chunks.push(b);
    size += b.length;
  }
  return { chunks, done: false };
}

/** First pass over the whole stream: is it valid UTF-8, and does it use multi-byte sequences? */
async function scanUtf8(open: ByteSource, maxBytes: number): Promise<Utf8Scanner> {
  const scanner = new Utf8Scanner();
  for await (const chunk of limited([], await openIterator(open), 0, maxBytes)) {
    if (!scanner.push(chunk)) break; // the rest cannot make it valid again
  }
  scanner.end();
  return scanner;
}

/**
 * The whole pipeline: bytes from `open()` → decoded text chunks, in order, with constant memory.
 * Opens the source a second time only when the declaration is a legacy encoding or missing and the
 * content has to decide (see module comment).
 */
export async function* decodeXml(open: ByteSource, options: DecodeOptions = {}): AsyncGenerator<string> {
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const it = await openIterator(open);
  let handedOver = false;
  try {
    const head = await readHead(it);
    const headBuf = Buffer.concat(head.chunks).subarray(0, HEAD_BYTES);
    const info = sniffHead(headBuf);
    const declared = info.declared;
    const family = declared ? classifyEncoding(declared) : null;

    if (info.bom === 'utf-32' || (declared && /^utf-?32/i.test(declared))) {
      throw encodingError('UTF-32 is not supported', { encoding: 'UTF-32' });
    }
    if (info.unmarkedWide) {
      // XML 1.0 §4.3.3: without a BOM or a declaration an entity must be UTF-8, and UTF-16 must begin
      // with a BOM. Guessing from zero bytes would be our own invention: say what it looks like instead.
      const w = info.unmarkedWide;
      const why = w.encoding.startsWith('UTF-16')
        ? 'XML requires a byte-order mark for UTF-16 and reads a file with neither as UTF-8; ask the sender for a byte-order mark or UTF-8'
        : 'UTF-32 is not supported; ask the sender for UTF-8';
      throw encodingError(
        `The file looks like ${w.encoding} without a byte-order mark (zero bytes in the pattern of ${w.encoding} in its first ${w.bytes} bytes) and has no XML declaration: ${why}`,
        { encoding: w.encoding },
      );
    }
    if (family?.kind === 'unknown' && !info.bom) {
      throw encodingError(`Unsupported encoding "${declared}" in the XML declaration`, { encoding: declared! });
    }

    let detected: DetectedEncoding;
    const rest = head.done ? null : it;
    if (info.bom) {
      const note =
        declared && family?.kind !== (info.bom === 'utf-8' ? 'utf-8' : 'utf-16')
          ? `byte order mark says ${info.bom}, declaration says ${declared}: the BOM wins`
          : null;
      detected = { encoding: info.bom, declared, reason: 'bom', bomLength: info.bomLength, note };
    } else if (info.utf16NoBom) {
      detected = { encoding: info.utf16NoBom, declared, reason: 'declaration', bomLength: 0, note: null };
    } else if (family?.kind === 'utf-8') {
      detected = { encoding: 'utf-8', declared, reason: 'declaration', bomLength: 0, note: null };
    } else {
      // Legacy or missing declaration (a UTF-16 declaration over ASCII-compatible bytes cannot be true
      // either): the content decides, which needs the whole file before the first byte is decoded.
      const fallback = family?.kind === 'legacy' ? family.iconvName : null;
      await it.return?.();
      handedOver = true;
      const scan = await scanUtf8(open, maxBytes);
      if (scan.valid && (scan.multibyte || fallback === null)) {
        detected = {
          encoding: 'utf-8',
          declared,
          reason: declared ? 'utf8-content' : 'default',
          bomLength: 0,
          note: declared && scan.multibyte ? `declared ${declared}, but the content is valid UTF-8: read as UTF-8` : null,
        };
      } else if (fallback !== null) {
        detected = { encoding: fallback, declared, reason: 'declaration', bomLength: 0, note: null };
      } else {
        // No declaration and not UTF-8: windows-1252 is what such files are in practice.
        detected = {
          encoding: 'windows-1252',
          declared,
          reason: 'default',
          bomLength: 0,
          note: `${declared ? `declared ${declared}, which these bytes cannot be,` : 'no encoding declared'} and not valid UTF-8 (byte offset ${scan.invalidAt}): read as windows-1252`,
        };
      }
      options.onDetected?.(detected);
      yield* decodeWith(detected, limited([], await openIterator(open), 0, maxBytes));
      return;
    }
    options.onDetected?.(detected);
    handedOver = true;
    yield* decodeWith(detected, limited(head.chunks, rest, detected.bomLength, maxBytes));
  } finally {
    if (!handedOver) await it.return?.();
  }
}

function decodeWith(d: DetectedEncoding, bytes: AsyncIterable<Buffer>): AsyncGenerator<string> {
  if (d.encoding === 'utf-8') {
    const why = d.reason === 'bom' ? 'byte order mark' : d.declared ? `declared ${d.declared}` : 'no declaration';
    return utf8Chunks(bytes, d.bomLength, why);
  }
  if (d.encoding === 'utf-16le' || d.encoding === 'utf-16be') {
    return utf16Chunks(bytes, d.encoding, d.bomLength, d.encoding.toUpperCase());
  }
  if (d.encoding === 'windows-1252') return cp1252Chunks(bytes);
  return iconvChunks(bytes, d.encoding, d.declared ?? d.encoding);
}

/** Convenience for tests and small inputs: a whole buffer → text. */
export async function decodeXmlBuffer(buf: Buffer, options: DecodeOptions = {}): Promise<string> {
  const parts: string[] = [];
  for await (const s of decodeXml(() => bufferSource(buf), options)) parts.push(s);
  return parts.join('');
}

/** A byte source over a buffer, in chunks of `chunkSize` (to exercise the streaming paths). */
export async function* bufferSource(buf: Buffer, chunkSize = 256 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += chunkSize) yield buf.subarray(i, i + chunkSize);
}
