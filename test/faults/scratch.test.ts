import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/db';
import { createTestDatabase, startWorker, temporalClient, uniqueId } from '../support/harness';
import { batchResult, dbState, faultConfig, generateTransfer, sharedFtpPort, spawnWorker, startBatch, upload } from '../support/faults';

describe('scratch', () => {
  it('measures', async () => {
    const tenant = uniqueId('scr');
    const h = await createTestDatabase();
    const cfg = faultConfig({ databaseUrl: h.url, tenants: [{ id: tenant }] });
    const db = await openDatabase(cfg, 4);
    const N = Number(process.env.N ?? 3000);
    const buf = generateTransfer({ firstId: 100000, count: N, unknownUserEvery: 500, deleteEvery: 40, changeEvery: 29 });
    console.log('size', buf.length);
    await upload(sharedFtpPort(), tenant, 'big.xml', buf);
    let t0 = Date.now();
    const w = process.env.SPAWN ? await spawnWorker(cfg) : null;
    if (w) await w.ready;
    const iw = w ? null : await startWorker(cfg);
    console.log('worker ready', Date.now() - t0);
    const client = await temporalClient();
    t0 = Date.now();
    const s = await batchResult(await startBatch(client, cfg, tenant));
    console.log('batch', Date.now() - t0, JSON.stringify(s.objects), s.partial, s.imported);
    const st = await dbState(db, tenant);
    console.log(st.estates.length, st.addresses.length, st.links.length, st.objects.length, st.ledger);
    await w?.kill('SIGTERM');
    await iw?.stop();
    await db.destroy();
    await h.drop();
  }, 300_000);
});
