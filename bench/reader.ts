/**
 * Reader benchmark: a 10,000-object IMV-shaped transfer (~26 MB) → openTransfer → events.
 * Prints MB/s, objects/s, and RSS/heap along the way: heap must stay flat while objects stream by
 * (a memory test is a benchmark, not a timed unit test).
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/reader.js [objects] [--latin1] [--keep]
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SaxesParser } from 'saxes';
import { openTransfer } from '../openimmo/reader';
import { generate } from './transfers';

// bench/pipeline and test/pipeline/drain take the same transfer from here.
export { generate } from './transfers';

function mb(n: number): string {
  return (n / 1024 / 1024).toFixed(1);
}

async function saxesCeiling(path: string): Promise<number> {
  const sax = new SaxesParser({ xmlns: false, position: true });
  let n = 0;
  sax.on('opentag', () => n++);
  sax.on('text', () => undefined);
  const t0 = process.hrtime.bigint();
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024, encoding: 'utf8' })) sax.write(chunk as string);
  sax.close();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const objects = Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000);
  const latin1 = args.includes('--latin1');
  const dir = await mkdtemp(join(tmpdir(), 'imv-bench-'));
  const file = join(dir, 'transfer.xml');
  try {
    await generate(file, objects, latin1 ? 'latin1' : 'utf-8');
    const size = (await stat(file)).size;
    console.log(`transfer: ${objects} objects, ${mb(size)} MB, ${latin1 ? 'ISO-8859-1 declared' : 'UTF-8'}`);

    if (!latin1) {
      const s = await saxesCeiling(file);
      console.log(`saxes alone (ceiling): ${(size / 1024 / 1024 / s).toFixed(1)} MB/s`);
    }

    global.gc?.();
    const base = process.memoryUsage();
    let peakRss = base.rss;
    let peakHeap = base.heapUsed;
    const samples: string[] = [];
    const t0 = process.hrtime.bigint();
    const t = await openTransfer(file);
    let count = 0;
    let warnings = 0;
    for await (const e of t.events()) {
      if (e.type !== 'object') continue;
      count++;
      warnings += e.object.warnings.length;
      if (count % 500 === 0) {
        const m = process.memoryUsage();
        if (m.rss > peakRss) peakRss = m.rss;
        if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
        if (count % Math.max(1000, Math.floor(objects / 5)) === 0) samples.push(`${count}: heap ${mb(m.heapUsed)} MB`);
      }
    }
    await t.close();
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (count !== objects) throw new Error(`expected ${objects} objects, got ${count}`);
    console.log(`reader: ${secs.toFixed(2)} s, ${(size / 1024 / 1024 / secs).toFixed(1)} MB/s, ${Math.round(count / secs)} objects/s, ${warnings} warnings`);
    console.log(`encoding: ${t.encoding?.encoding} (${t.encoding?.reason})`);
    console.log(`memory: baseline rss ${mb(base.rss)} MB / heap ${mb(base.heapUsed)} MB; peak rss ${mb(peakRss)} MB / heap ${mb(peakHeap)} MB`);
    console.log(`heap along the way: ${samples.join(', ')}`);
  } finally {
    if (args.includes('--keep')) console.log(`kept: ${file}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
