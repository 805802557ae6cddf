/**
 * A large IMV-shaped transfer made on the fly from bench/transfers' template (a generator, never a whole
 * buffer), a ZIP of it written as a stream, and a memory watcher (heap plus Buffers, which live outside
 * the heap).
 */
import { encodeTransfer, imvObject, transferHead, TRANSFER_TAIL } from '../../bench/transfers';
import { zipFileStreaming } from '../support/zip';

/** Object i: ids from 0, the shared IMV template with a description that varies per object. */
function object(i: number): string {
  // A per-object varying text keeps the deflate ratio realistic (a few :1, not a bomb's 1000:1).
  const noise = ((i * 2654435761) >>> 0).toString(36);
  const description = `Helle Wohnung ${noise} mit großer Küche, Balkon ${i % 7} und Keller. `.repeat(24);
  return imvObject({ id: i, n: i, owner: i, user: 'skoch', stand: '2026-11-25', description });
}

export interface BigTransfer {
  /** The bytes from the start, each call anew (the decoder may open the source twice). */
  chunks(): AsyncGenerator<Buffer>;
  /** Objects in the transfer (known once a pass has finished). */
  objects(): number;
  bytesWritten(): number;
}

/** At least `targetBytes` of XML in chunks of ~64 objects (~200 KB). */
export function bigTransfer(targetBytes: number, encoding: 'UTF-8' | 'ISO-8859-1'): BigTransfer {
  const enc = encoding === 'UTF-8' ? 'utf-8' : 'latin1';
  const encode = (s: string): Buffer => encodeTransfer(s, enc);
  let count = 0;
  let written = 0;
  return {
    async *chunks() {
      let bytes = 0;
      let i = 0;
      const head = encode(transferHead({ encoding: enc, timestamp: '2026-11-25T10:00:00Z' }));
      bytes += head.length;
      yield head;
      while (bytes < targetBytes) {
        let s = '';
        for (let k = 0; k < 64; k++) s += object(i++);
        const b = encode(s);
        bytes += b.length;
        yield b;
      }
      const tail = encode(TRANSFER_TAIL);
      bytes += tail.length;
      yield tail;
      count = i;
      written = bytes;
    },
    objects: () => count,
    bytesWritten: () => written,
  };
}

/** Writes a ZIP holding `export/openimmo.xml` of ≥ `targetBytes`, streamed through yazl. Returns the object count. */
export async function bigZipFile(file: string, targetBytes: number): Promise<{ objects: number; compressed: number }> {
  const big = bigTransfer(targetBytes, 'UTF-8');
  const compressed = await zipFileStreaming(file, 'export/openimmo.xml', big.chunks());
  return { objects: big.objects(), compressed };
}

/** Peak growth of heapUsed + arrayBuffers (Buffers) over the value at creation. */
export function watchMemory() {
  const now = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const base = now();
  let peak = base;
  return {
    sample() {
      const v = now();
      if (v > peak) peak = v;
    },
    growthMB: () => (peak - base) / (1024 * 1024),
  };
}
