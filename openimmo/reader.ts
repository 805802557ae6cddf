/**
 * The streaming OpenImmo reader: file → (ZIP) → bytes → text → saxes → one small tree per `immobilie`
 * → TransferObject events, in document order.
 *
 * Memory does not grow with the number of objects: only the current `immobilie` (and an `anbieter`'s
 * few own fields) is held as a tree; everything else is a stack of names. Objects are yielded as they
 * close, and the file is read only as fast as the consumer takes them (async-generator backpressure).
 *
 * A file-level error (malformed XML, a limit) can come after some objects were yielded: callers must
 * treat the file as failed when iteration throws, whatever they got before.
 */
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { open as openFile, stat } from 'node:fs/promises';
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { bufferSource, decodeXml, type ByteSource, type DetectedEncoding } from './decode';
import { TransferError } from './errors';
import { mapHeader, mapImmobilie, mapProvider } from './mapping';
import { mayBeDamaged } from './values';
import type { TransferEvent, TransferObject, XmlElement, XmlNode } from './types';
import { DEFAULT_ZIP_LIMITS, describeCandidates, looksLikeZip, openZip, type ZipLimits, type ZipTransfer } from './zip';

const MiB = 1024 * 1024;

export interface ReaderOptions {
  /** Size of one `immobilie` (characters of decoded XML, ≈ bytes). Default 16 MiB. */
  maxObjectBytes?: number;
  /**
   * Elements plus attributes in one `immobilie` (or any other element the reader keeps). Default
   * 100,000; real objects have a few hundred. Bounds the tree in memory: `<x/>` costs 4 bytes of XML
   * but ~60 bytes of heap, so the byte limit alone would let 16 MiB of XML become ~1 GB of objects.
   */
  maxObjectNodes?: number;
  /**
   * Text of one element, and any single token outside objects. Default 1 MiB. Inline attachments
   * (`anhanginhalt`) are bounded by maxObjectBytes instead: base64 images are routinely larger.
   */
  maxFieldLength?: number;
  /** Element nesting. Default 256 (OpenImmo needs about 8). */
  maxDepth?: number;
  /** Size of the XML, plain or inside a ZIP (zip.maxXmlBytes wins for the latter). Default 256 MiB. */
  maxXmlBytes?: number;
  zip?: Partial<ZipLimits>;
  /** Bytes per read from disk. Default 256 KiB. */
  chunkSize?: number;
}

interface Limits {
  maxObjectBytes: number;
  maxObjectNodes: number;
  maxFieldLength: number;
  maxDepth: number;
  maxXmlBytes: number;
  chunkSize: number;
}

/** `maxXmlBytes` bounds the XML inside a ZIP too, unless `zip.maxXmlBytes` says otherwise. */
function zipLimitsOf(o: ReaderOptions): Partial<ZipLimits> {
  return o.maxXmlBytes !== undefined ? { maxXmlBytes: o.maxXmlBytes, ...o.zip } : { ...o.zip };
}

function limitsOf(o: ReaderOptions): Limits {
  return {
    maxObjectBytes: o.maxObjectBytes ?? 16 * MiB,
    maxObjectNodes: o.maxObjectNodes ?? 100_000,
    maxFieldLength: o.maxFieldLength ?? 1 * MiB,
    maxDepth: o.maxDepth ?? 256,
    maxXmlBytes: o.maxXmlBytes ?? DEFAULT_ZIP_LIMITS.maxXmlBytes,
    chunkSize: o.chunkSize ?? 256 * 1024,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The push parser: text in, events out

interface Frame {
  el: XmlElement;
  /** Characters of text in this element (field length limit). */
  textLength: number;
  hasText: boolean;
  hasWhitespace: boolean;
}

type CaptureKind = 'object' | 'header' | 'providerField';

/** Provider fields we keep until the anbieter closes (everything else of it is dropped on close). */
const PROVIDER_FIELDS = new Set(['anbieternr', 'firma', 'openimmo_anid']);

function isWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Attributes by local name; namespace declarations keep their full name (`xmlns`, `xmlns:oi`). */
function convertAttrs(a: Record<string, string>): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const k in a) {
    out ??= {};
    const c = k.indexOf(':');
    let key = c < 0 || k.startsWith('xmlns:') ? k : k.slice(c + 1);
    if (hasOwn(out, key)) key = k; // two prefixes, same local name: keep both
    if (key === '__proto__') {
      // A legal XML name; a plain assignment would be dropped (or touch the prototype).
      Object.defineProperty(out, key, { value: a[k]!, enumerable: true, writable: true, configurable: true });
    } else {
      out[key] = a[k]!;
    }
  }
  return out;
}

function malformed(message: string, line: number, column: number): TransferError {
  return new TransferError('MalformedXml', `Malformed XML at line ${line}, column ${column}: ${message}`, {
    line,
    column,
  });
}

/** Names come from the sender and may be long: shortened in messages (which end up in the ledger). */
function shortName(name: string): string {
  return name.length > 100 ? `${name.slice(0, 100)}…` : name;
}

const LEADING_JUNK = /^[\uFEFF\s]+/;

const DTD_MESSAGE = 'a DOCTYPE declaration is present; DTDs and custom entities are not accepted in transfers (they can expand to huge sizes or read files)';

export interface ParserHooks {
  /** Called for every object before it is emitted (the ZIP reader resolves attachments here). */
  onObject?: (o: TransferObject) => void;
}

export class TransferParser {
  private readonly sax: SaxesParser<{ xmlns: false }>;
  private readonly limits: Limits;
  private rootSeen = false;
  private atStart = true;
  /** Local names of open elements outside captured trees: openimmo, anbieter, … */
  private readonly skeleton: string[] = [];
  private readonly stack: Frame[] = [];
  private captureKind: CaptureKind | null = null;
  /** The captured object has text that may be damaged (U+FFFD, mojibake): mapping then looks closer. */
  private captureSuspect = false;
  private captureStart = 0;
  /** Elements and attributes in the tree being captured. */
  private captureNodes = 0;
  private provider: { index: number; fields: XmlElement[] } | null = null;
  private providerCount = 0;
  private objectCount = 0;
  /** Position of the last saxes event: how long the token being read is so far. */
  private lastEventPos = 0;
  /** Tail of the previous chunk, so a `<!DOCTYPE` split across chunks is still seen. */
  private prologTail = '';

  constructor(
    private readonly out: TransferEvent[],
    options: ReaderOptions = {},
    private readonly hooks: ParserHooks = {},
  ) {
    this.limits = limitsOf(options);
    const sax = new SaxesParser({ xmlns: false, position: true });
    this.sax = sax;
    sax.on('error', (err) => {
      throw this.toMalformed(err);
    });
    sax.on('doctype', () => {
      throw malformed(DTD_MESSAGE, sax.line, sax.column + 1);
    });
    sax.on('opentag', (tag) => this.onOpen(tag));
    sax.on('closetag', () => this.onClose());
    sax.on('text', (t) => this.onText(t));
    sax.on('cdata', (t) => this.onText(t));
    // No more handlers: saxes stores each as a property added after construction, and an eighth one
    // turns the parser object into a V8 dictionary-mode object, which made parsing 4x slower here.
    // Comments and processing instructions carry nothing we read.
  }

  write(text: string): void {
    if (this.atStart) {
      // Exporters leave blank lines (or a second BOM) before `<?xml`, which XML forbids; they carry
      // nothing, so they are dropped instead of failing the file.
      text = text.replace(LEADING_JUNK, '');
      if (text.length === 0) return;
      this.atStart = false;
    }
    if (text.length === 0) return;
    if (!this.rootSeen) {
      this.writeProlog(text);
    } else {
      this.sax.write(text);
    }
    this.checkTokenSize();
  }

  close(): void {
    this.sax.close();
  }

  /**
   * Before the root element, look for a DOCTYPE ourselves and stop before saxes reads it: saxes would
   * not expand its entities, but it would buffer an internal subset of any size first.
   */
  private writeProlog(text: string): void {
    const probe = this.prologTail + text;
    const at = probe.indexOf('<!DOCTYPE');
    if (at < 0) {
      this.prologTail = probe.slice(-8);
      this.sax.write(text);
      return;
    }
    const cut = at - this.prologTail.length; // may be < 0: the start was in the previous chunk
    if (cut > 0) this.sax.write(text.slice(0, cut));
    if (!this.rootSeen) throw malformed(DTD_MESSAGE, this.sax.line, this.sax.column + 1);
    this.sax.write(text.slice(Math.max(cut, 0)));
  }

  private toMalformed(err: Error): TransferError {
    if (err instanceof TransferError) return err;
    // saxes prefixes "line:column: "; we report our own, 1-based column.
    let msg = err.message.replace(/^\d+:\d+: /, '');
    if (msg.length > 300) msg = `${msg.slice(0, 300)}…`; // saxes quotes names from the document
    if (/entity/i.test(msg)) {
      msg += ' Only the predefined entities (&amp; &lt; &gt; &quot; &apos;) and numeric references are accepted.';
    }
    return malformed(msg, this.sax.line, this.sax.column + 1);
  }

  private checkTokenSize(): void {
    const pos = this.sax.position;
    if (this.stack.length > 0) {
      this.checkObjectSize(pos);
    } else if (pos - this.lastEventPos > this.limits.maxFieldLength + 64 * 1024) {
      throw new TransferError('TooLarge', `A single text, comment or tag near line ${this.sax.line} is longer than ${this.limits.maxFieldLength} characters`, {
        limit: this.limits.maxFieldLength,
        line: this.sax.line,
      });
    }
  }

  private checkObjectSize(pos: number): void {
    if (pos - this.captureStart > this.limits.maxObjectBytes) {
      const what = this.captureKind === 'object' ? `Object ${this.objectCount + 1} (immobilie)` : 'An element';
      throw new TransferError('TooLarge', `${what} starting before line ${this.sax.line} is larger than the limit of ${this.limits.maxObjectBytes} bytes`, {
        limit: this.limits.maxObjectBytes,
        object: this.objectCount + 1,
      });
    }
  }

  private countNodes(tag: SaxesTagPlain): void {
    let n = 1;
    for (const _ in tag.attributes) n++;
    this.captureNodes += n;
    if (this.captureNodes > this.limits.maxObjectNodes) {
      const what = this.captureKind === 'object' ? `Object ${this.objectCount + 1} (immobilie)` : 'An element';
      throw new TransferError('TooLarge', `${what} near line ${this.sax.line} has more than ${this.limits.maxObjectNodes} elements and attributes`, {
        limit: this.limits.maxObjectNodes,
        object: this.objectCount + 1,
        line: this.sax.line,
      });
    }
  }

  private onOpen(tag: SaxesTagPlain): void {
    const pos = this.sax.position;
    this.lastEventPos = pos;
    const qname = tag.name;
    const colon = qname.indexOf(':');
    const local = colon < 0 ? qname : qname.slice(colon + 1);

    if (this.stack.length > 0) {
      if (this.stack.length + this.skeleton.length >= this.limits.maxDepth) this.tooDeep();
      this.checkObjectSize(pos);
      this.countNodes(tag);
      const el = this.makeElement(local, colon < 0 ? undefined : qname.slice(0, colon), tag.attributes);
      const parent = this.stack[this.stack.length - 1]!.el;
      (parent.children ??= []).push(el);
      this.stack.push({ el, textLength: 0, hasText: false, hasWhitespace: false });
      return;
    }

    const name = local.toLowerCase();
    if (!this.rootSeen) {
      this.rootSeen = true;
      if (name !== 'openimmo') {
        throw new TransferError('NotOpenImmo', `Not an OpenImmo transfer: the root element is <${shortName(qname)}>, not <openimmo>`, {
          root: shortName(qname),
        });
      }
      this.skeleton.push(name);
      return;
    }
    if (this.skeleton.length >= this.limits.maxDepth) this.tooDeep();
    const parentName = this.skeleton[this.skeleton.length - 1];
    if (name === 'immobilie') this.startCapture('object', local, qname, colon, tag, pos);
    else if (name === 'uebertragung' && this.skeleton.length === 1) this.startCapture('header', local, qname, colon, tag, pos);
    else if (name === 'anbieter') {
      this.provider = { index: this.providerCount++, fields: [] };
      this.skeleton.push(name);
    } else if (parentName === 'anbieter') this.startCapture('providerField', local, qname, colon, tag, pos);
    else this.skeleton.push(name); // anything else outside objects is walked through, not kept
  }

  private startCapture(kind: CaptureKind, local: string, qname: string, colon: number, tag: SaxesTagPlain, pos: number): void {
    this.captureKind = kind;
    this.captureStart = pos - qname.length - 2; // roughly where `<name` began
    this.captureNodes = 0;
    this.captureSuspect = false;
    this.countNodes(tag);
    const el = this.makeElement(local, colon < 0 ? undefined : qname.slice(0, colon), tag.attributes);
    this.stack.push({ el, textLength: 0, hasText: false, hasWhitespace: false });
  }

  private makeElement(name: string, prefix: string | undefined, attributes: Record<string, string>): XmlElement {
    const el: XmlElement = { name };
    if (prefix !== undefined) el.prefix = prefix;
    const attrs = convertAttrs(attributes);
    if (attrs) el.attrs = attrs;
    return el;
  }

  private tooDeep(): never {
    throw new TransferError('TooLarge', `Elements are nested deeper than ${this.limits.maxDepth} levels (line ${this.sax.line})`, {
      limit: this.limits.maxDepth,
      line: this.sax.line,
    });
  }

  private onText(t: string): void {
    this.lastEventPos = this.sax.position;
    const top = this.stack[this.stack.length - 1];
    if (!top) return; // text outside objects carries nothing we read
    top.textLength += t.length;
    if (top.textLength > this.limits.maxFieldLength && top.el.name !== 'anhanginhalt') {
      throw new TransferError(
        'TooLarge',
        `Element <${shortName(top.el.name)}> near line ${this.sax.line} has more than ${this.limits.maxFieldLength} characters of text`,
        { limit: this.limits.maxFieldLength, element: shortName(top.el.name), line: this.sax.line },
      );
    }
    if (isWhitespace(t)) top.hasWhitespace = true;
    else {
      top.hasText = true;
      if (!this.captureSuspect && top.el.name !== 'anhanginhalt') this.captureSuspect = mayBeDamaged(t);
    }
    const kids = (top.el.children ??= []);
    const last = kids.length - 1;
    // Text, CDATA and text after a comment are one run for the reader: merge adjacent strings.
    if (last >= 0 && typeof kids[last] === 'string') kids[last] = (kids[last] as string) + t;
    else kids.push(t);
  }

  private onClose(): void {
    this.lastEventPos = this.sax.position;
    const frame = this.stack.pop();
    if (!frame) {
      const name = this.skeleton.pop();
      if (name === 'anbieter' && this.provider) {
        this.out.push({ type: 'provider', provider: mapProvider(this.provider.index, this.provider.fields) });
        this.provider = null;
      }
      return;
    }
    // Whitespace between elements is layout, not data; in mixed content it is kept as written.
    const kids = frame.el.children;
    if (kids && frame.hasWhitespace && !frame.hasText) {
      const kept: XmlNode[] = [];
      for (const k of kids) if (typeof k !== 'string' || !isWhitespace(k)) kept.push(k);
      if (kept.length) frame.el.children = kept;
      else delete frame.el.children;
    }
    if (this.stack.length === 0) this.finishCapture(frame.el);
  }

  private finishCapture(el: XmlElement): void {
    const kind = this.captureKind;
    this.captureKind = null;
    if (kind === 'object') {
      const o = mapImmobilie(el, { position: this.objectCount++, providerIndex: this.provider?.index ?? -1, suspectText: this.captureSuspect });
      this.hooks.onObject?.(o);
      this.out.push({ type: 'object', object: o });
    } else if (kind === 'header') {
      this.out.push({ type: 'header', header: mapHeader(el.attrs ?? {}) });
    } else if (kind === 'providerField' && this.provider) {
      // Keep what ProviderInfo reads; drop the rest (an anbieter may carry an impressum, logos, …).
      if (PROVIDER_FIELDS.has(el.name) || el.name.startsWith('user_defined_') || hasUserField(el)) {
        this.provider.fields.push(el);
      }
    }
  }
}

function hasUserField(el: XmlElement): boolean {
  for (const k of el.children ?? []) {
    if (typeof k === 'string') continue;
    if (k.name.startsWith('user_defined_') || hasUserField(k)) return true;
  }
  return false;
}

/** Text chunks → events, yielded after each chunk: the consumer's pace drives the reading. */
export async function* parseTextChunks(chunks: AsyncIterable<string>, options: ReaderOptions = {}, hooks: ParserHooks = {}): AsyncGenerator<TransferEvent> {
  const queue: TransferEvent[] = [];
  const parser = new TransferParser(queue, options, hooks);
  let failure: unknown = null;
  try {
    for await (const chunk of chunks) {
      parser.write(chunk);
      if (queue.length) {
        for (let i = 0; i < queue.length; i++) yield queue[i]!;
        queue.length = 0;
      }
    }
    parser.close();
  } catch (e) {
    failure = e;
  }
  // Objects that closed before the error are yielded first, so what a caller sees does not depend on
  // where the chunk boundaries fell.
  for (const e of queue) yield e;
  if (failure !== null) throw failure;
}

// ---------------------------------------------------------------------------------------------------------
// Files and buffers

export interface TransferAttachments {
  /** The ZIP entry a path from the XML refers to (see zip.ts for the matching rules), or null. */
  resolve(path: string): string | null;
  /** An entry's bytes, within the ZIP limits. */
  read(entryName: string): Promise<Buffer>;
}

export interface OpenedTransfer {
  kind: 'xml' | 'zip';
  /** The XML's entry name inside the ZIP; null for a plain XML file. */
  xmlEntryName: string | null;
  /** Reads the transfer from the start (each call reads again). */
  events(): AsyncIterable<TransferEvent>;
  attachments: TransferAttachments | null;
  /** The encoding the last events() read used (null before reading starts). */
  readonly encoding: DetectedEncoding | null;
  close(): Promise<void>;
}

/** ZIP mode: resolve path attachments to entries; a missing file, or a path several entries match, is a warning (design §3). */
function attachmentHook(zip: ZipTransfer | null): ParserHooks {
  return {
    onObject(o) {
      for (const a of o.attachments) {
        if (a.source.kind !== 'path') continue;
        const label = `anhaenge/anhang[${a.position + 1}]`;
        if (!zip) {
          o.warnings.push(`${label}: refers to the file "${a.source.path}", but the transfer is a plain XML file`);
          continue;
        }
        const found = zip.attachments.candidates(a.source.path);
        if (found.length === 0) {
          o.warnings.push(`${label}: file "${a.source.path}" not found in the ZIP`);
          continue;
        }
        a.source.entry = found[0]!;
        if (found.length > 1) {
          o.warnings.push(
            `${label}: file "${a.source.path}" matches ${found.length} entries in the ZIP (${describeCandidates(found)}); the first in the archive is used`,
          );
        }
      }
    },
  };
}

function makeOpened(kind: 'xml' | 'zip', zip: ZipTransfer | null, source: ByteSource, options: ReaderOptions, maxBytes: number): OpenedTransfer {
  let encoding: DetectedEncoding | null = null;
  const hooks = attachmentHook(zip);
  return {
    kind,
    xmlEntryName: zip?.xmlEntryName ?? null,
    get encoding() {
      return encoding;
    },
    events() {
      const text = decodeXml(source, { maxBytes, onDetected: (e) => (encoding = e) });
      return parseTextChunks(text, options, hooks);
    },
    attachments: zip ? { resolve: (p: string) => zip.attachments.resolve(p), read: (n: string) => zip.readEntry(n) } : null,
    async close() {
      zip?.close();
    },
  };
}

/**
 * A file's bytes in chunks. A consumer that stops early gets its `return()` only once the file is
 * closed: a destroyed stream closes its descriptor later, on its own.
 */
async function* fileChunks(filePath: string, chunkSize: number): AsyncGenerator<Buffer> {
  const stream = createReadStream(filePath, { highWaterMark: chunkSize });
  const closed = once(stream, 'close').catch(() => undefined);
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } finally {
    stream.destroy();
    await closed;
  }
}

/** Opens an `.xml` or `.zip` transfer; which one is decided by the magic bytes, not the name. */
export async function openTransfer(filePath: string, options: ReaderOptions = {}): Promise<OpenedTransfer> {
  const limits = limitsOf(options);
  const head = Buffer.alloc(4);
  const fh = await openFile(filePath, 'r');
  let headLength: number;
  try {
    ({ bytesRead: headLength } = await fh.read(head, 0, 4, 0));
  } finally {
    await fh.close();
  }
  if (looksLikeZip(head.subarray(0, headLength))) {
    const zip = await openZip(filePath, zipLimitsOf(options));
    return makeOpened('zip', zip, () => zip.openXmlStream(), options, Number.POSITIVE_INFINITY);
  }
  const size = (await stat(filePath)).size;
  if (size > limits.maxXmlBytes) {
    throw new TransferError('TooLarge', `The XML file has ${size} bytes, more than the limit of ${limits.maxXmlBytes}`, {
      limit: limits.maxXmlBytes,
    });
  }
  return makeOpened('xml', null, () => fileChunks(filePath, limits.chunkSize), options, limits.maxXmlBytes);
}

/** The whole transfer from memory (tests, the CLI's `parse`): an XML or a ZIP, all events. */
export async function readTransferBuffer(buf: Buffer, options: ReaderOptions = {}): Promise<TransferEvent[]> {
  const limits = limitsOf(options);
  let zip: ZipTransfer | null = null;
  let opened: OpenedTransfer;
  if (looksLikeZip(buf)) {
    zip = await openZip(buf, zipLimitsOf(options));
    const z = zip;
    opened = makeOpened('zip', z, () => z.openXmlStream(), options, Number.POSITIVE_INFINITY);
  } else {
    if (buf.length > limits.maxXmlBytes) {
      throw new TransferError('TooLarge', `The XML has ${buf.length} bytes, more than the limit of ${limits.maxXmlBytes}`, {
        limit: limits.maxXmlBytes,
      });
    }
    opened = makeOpened('xml', null, () => bufferSource(buf, limits.chunkSize), options, limits.maxXmlBytes);
  }
  try {
    const events: TransferEvent[] = [];
    for await (const e of opened.events()) events.push(e);
    return events;
  } finally {
    await opened.close();
  }
}
