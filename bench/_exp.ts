import { createReadStream, writeFileSync } from 'node:fs';
import { SaxesParser } from 'saxes';
import { decodeXml } from '../openimmo/decode';
import { TransferParser } from '../openimmo/reader';
import type { TransferEvent } from '../openimmo/types';
const file = process.argv[2]!;
async function time(name: string, f: () => Promise<void>) { const t0 = Date.now(); await f(); console.log(name, Date.now() - t0, 'ms'); }
(async () => {
  for (let rep = 0; rep < 2; rep++) {
  await time('read bytes', async () => { for await (const c of createReadStream(file, { highWaterMark: 256 * 1024 })) void c; });
  await time('decode', async () => { for await (const c of decodeXml(() => createReadStream(file, { highWaterMark: 256 * 1024 }))) void c; });
  await time('decode+saxes bare', async () => { const s = new SaxesParser({ xmlns: false, position: true }); s.on('opentag', () => {}); s.on('text', () => {}); for await (const c of decodeXml(() => createReadStream(file, { highWaterMark: 256 * 1024 }))) s.write(c); s.close(); });
  await time('decode+TransferParser', async () => { const q: TransferEvent[] = []; const p = new TransferParser(q); let n = 0; for await (const c of decodeXml(() => createReadStream(file, { highWaterMark: 256 * 1024 }))) { p.write(c); n += q.length; q.length = 0; } p.close(); console.log(n); });
  }
})();
