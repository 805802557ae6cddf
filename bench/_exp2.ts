import { createReadStream } from 'node:fs';
import { decodeXml } from '../openimmo/decode';
import { TransferParser } from '../openimmo/reader';
import type { TransferEvent } from '../openimmo/types';
const file = process.argv[2]!;
(async () => {
  for (let rep = 0; rep < 3; rep++) {
  const t0 = Date.now();
  const q: TransferEvent[] = []; const p = new TransferParser(q); let n = 0; for await (const c of decodeXml(() => createReadStream(file, { highWaterMark: 256 * 1024 }))) { p.write(c); n += q.length; q.length = 0; } p.close();
  console.log(n, Date.now() - t0, 'ms');
  }
})();
