import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { readTransferBuffer } from '/work/main/openimmo/reader';
it('dump', async () => {
  const ev = await readTransferBuffer(readFileSync('/work/main/test/fixtures/openimmo/full-object.xml'));
  for (const e of ev) { if (e.type === 'object') { const { raw, ...r } = e.object; console.log(JSON.stringify(r, null, 1)); } else console.log(JSON.stringify(e)); }
});
