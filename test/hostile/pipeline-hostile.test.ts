/**
 * All hostile files in ONE batch on the real pipeline (Temporal dev server, a fresh PostgreSQL
 * database, vsftpd), with two good files among them. Per file: the ledger row (status, error type, a
 * message naming the file and what is wrong), the file in failed/ with its report (or processed/ for
 * partial and imported files). The good files import; nothing is fetched from the bait server, the
 * bait file's marker is nowhere (database, FTP server, file store); nothing is written outside; and the
 * worker still polls: a second batch imports.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { BatchSummary } from '../../common/messages';
import { MAX_KEY_BYTES } from '../../openimmo/mapping';
import { listRemote, readRemote, uniqueId, uploadTo, usePipeline } from '../support/harness';
import { goodXml, goodZip, hostileFiles, type HostileFile } from './hostile-files';
import { outsideTargets, startBait, type BaitServer } from './support';

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('hostile and broken input: one batch on the real pipeline', () => {
  const tenant = uniqueId('hostile');
  const outside = outsideTargets();
  const ctx = usePipeline({ tenants: [{ id: tenant }], identities: ['hostile-worker'] });
  let workerEnded = false;
  let bait: BaitServer;
  let files: HostileFile[];
  let summary: BatchSummary;
  let batchSeconds = 0;

  beforeAll(async () => {
    bait = await startBait();
    files = await hostileFiles(bait, outside);
    void ctx.workers[0]!.done.finally(() => (workerEnded = true));

    await uploadTo(tenant, 'good-1.xml', goodXml('7001'));
    for (const f of files) await uploadTo(tenant, f.name, f.bytes);
    await uploadTo(tenant, 'good-2.zip', await goodZip('7002'));
    const t0 = performance.now();
    summary = await ctx.batch(tenant);
    batchSeconds = (performance.now() - t0) / 1000;
    console.log(`hostile batch: ${summary.files} files in ${batchSeconds.toFixed(1)} s`);
  });

  afterAll(async () => {
    await bait?.close();
  });

  it('the batch finishes with every file accounted for', () => {
    expect(summary.files).toBe(files.length + 2);
    const count = (s: string) => files.filter((f) => f.expect.status === s).length;
    expect(summary.failed).toBe(count('failed'));
    expect(summary.partial).toBe(count('partial'));
    expect(summary.imported).toBe(count('imported') + 2);
    expect(summary.duplicate).toBe(0);
    expect(summary.skipped).toBe(0);
  });

  it('each rejected file: ledger failed + error type + a message naming the file and the problem; in failed/ with its report', async () => {
    const failedDir = await listRemote(`/${tenant}/failed`);
    for (const f of files) {
      if (f.expect.status !== 'failed') continue;
      const row = await ctx.db('import_files').where({ tenant_id: tenant, file_name: f.name }).first();
      expect({ file: f.name, status: row.status, type: row.error_type }).toEqual({ file: f.name, status: 'failed', type: f.expect.errorType });
      expect(row.error_message.startsWith(`${f.name}: `), `${f.name}: ${row.error_message}`).toBe(true);
      expect(row.error_message, f.name).toMatch(f.expect.message);
      expect(row.error_message.length, f.name).toBeLessThan(1000); // says what is wrong, never echoes the content

      const archived = `${row.id}-${f.name}`;
      expect(failedDir, f.name).toContain(archived);
      expect(failedDir, f.name).toContain(`${archived}.report.txt`);
      expect(row.archived_path).toBe(`/${tenant}/failed/${archived}`);
      const report = readRemote(tenant, `failed/${archived}.report.txt`);
      expect(report).toContain(`file:      ${f.name}`);
      expect(report).toContain('status:    failed');
      expect(report).toContain(`error:     ${f.expect.errorType}: ${f.name}: `);
      expect(report).toContain(`imv-import replay ${row.id}`);
      // The failed/ copy is the file as it arrived (for the sender and for replay).
      expect(fs.readFileSync(path.join(inject('ftpRoot'), tenant, 'failed', archived)).equals(f.bytes), f.name).toBe(true);
    }
    // Nothing failed stays in the inbox to poison the next batch.
    expect(await listRemote(`/${tenant}`)).toEqual([]);
  });

  it('the failed file workflows are failed workflows whose failure type is the error type', async () => {
    for (const name of ['xxe-file-and-http.xml', 'zip-bomb-overlap.zip', 'bad-utf16.xml', 'overlong-provider.xml']) {
      const row = await ctx.db('import_files').where({ tenant_id: tenant, file_name: name }).first();
      const h = ctx.client.workflow.getHandle(row.workflow_id);
      const err = await h.result().then(
        () => null,
        (e: unknown) => e as { cause?: { type?: string } },
      );
      expect(err?.cause?.type, name).toBe(row.error_type);
      expect((await h.describe()).status.name).toBe('FAILED');
    }
  });

  it('the good files imported (an XML and a ZIP with its picture)', async () => {
    const rows = await ctx.db('import_files').where({ tenant_id: tenant }).whereIn('file_name', ['good-1.xml', 'good-2.zip']).orderBy('file_name');
    expect(rows.map((r) => [r.file_name, r.status, r.created])).toEqual([
      ['good-1.xml', 'imported', 1],
      ['good-2.zip', 'imported', 1],
    ]);
    const estates = await ctx.db('estates').where({ tenant_id: tenant }).whereIn('source_id', ['7001', '7002']).orderBy('source_id');
    expect(estates.map((e) => [e.source_id, e.status, e.external_number])).toEqual([
      ['7001', 'inaktiv', 'IMVO-ID-7001'],
      ['7002', 'inaktiv', 'IMVO-ID-7002'],
    ]);
    const att = await ctx.db('estate_attachments').where({ estate_id: estates[1].id });
    expect(att.map((a) => [a.group, a.title])).toEqual([['TITELBILD', 'Außen']]);
    const processed = await listRemote(`/${tenant}/processed`);
    expect(processed).toEqual(expect.arrayContaining([`${rows[0].id}-good-1.xml`, `${rows[1].id}-good-2.zip`]));
  });

  it('no id, or an unusable 5,000-character id: that object is rejected, the file is partial, the other object imports', async () => {
    for (const [name, good, why] of [
      ['no-id.xml', '7701', /no IMV object id/],
      ['overlong-id.xml', '7703', new RegExp(`objektnr_extern is 5000 characters long, more than the limit of ${MAX_KEY_BYTES} bytes`)],
    ] as const) {
      const row = await ctx.db('import_files').where({ tenant_id: tenant, file_name: name }).first();
      expect([row.status, row.created, row.rejected], name).toEqual(['partial', 1, 1]);
      expect(await ctx.db('estates').where({ tenant_id: tenant, source_id: good }).first(), name).toBeTruthy();
      const objs = await ctx.db('import_objects').where({ import_id: row.id }).orderBy('position');
      expect(objs.map((o) => o.outcome)).toEqual(['created', 'rejected']);
      expect(objs[1].messages.join(' ')).toMatch(why);
      const processed = await listRemote(`/${tenant}/processed`);
      expect(processed).toContain(`${row.id}-${name}.report.txt`);
      expect(readRemote(tenant, `processed/${row.id}-${name}.report.txt`)).toMatch(/object #1 \(id none\) rejected: /);
    }
    // The 5,000-character value reached no column and no message.
    expect(await ctx.db('estates').where({ tenant_id: tenant }).whereRaw('length(source_id) > ?', [MAX_KEY_BYTES]).count('* as n').first()).toEqual({ n: 0 });
    expect(await ctx.db('import_objects').whereRaw('length(messages::text) > 2000').count('* as n').first()).toEqual({ n: 0 });
  });

  it('over-long values in one object: imported with warnings (owner dropped, out-of-range numbers null), a 300 KB description kept', async () => {
    const row = await ctx.db('import_files').where({ tenant_id: tenant, file_name: 'overlong-values.xml' }).first();
    expect([row.status, row.created]).toEqual(['imported', 1]);
    const e = await ctx.db('estates').where({ tenant_id: tenant, source_id: '7704' }).first();
    expect(e.purchase_price).toBeNull();
    expect(e.year_built).toBeNull();
    expect(e.fields.description).toHaveLength('Sehr lange Beschreibung. '.repeat(12_000).trim().length);
    expect(await ctx.db('estate_contacts').where({ estate_id: e.id }).count('* as n').first()).toEqual({ n: 0 });
    const [obj] = await ctx.db('import_objects').where({ import_id: row.id });
    expect(obj.outcome).toBe('created');
    expect(obj.messages).toEqual([
      'preise/kaufpreis: out of range "12345678901234.00"',
      'zustand_angaben/baujahr: out of range "99999999999"',
      `kontaktperson/name is 3000 characters long, more than the limit of ${MAX_KEY_BYTES} bytes for a value records are matched on; this address is not imported`,
    ]);
  });

  it('XInclude and a stylesheet PI are kept as written and never followed', async () => {
    const e = await ctx.db('estates').where({ tenant_id: tenant, source_id: '7403' }).first();
    expect(e.fields.description).toContain(`<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://${bait.file}" parse="text"/>`);
  });

  it('no entity was expanded or fetched: zero connections to the bait server, the marker is nowhere', async () => {
    expect(bait.requests).toEqual([]);
    expect(bait.connections).toBe(0);
    for (const table of ['import_files', 'import_objects', 'staged_objects', 'estates', 'addresses', 'estate_contacts', 'estate_attachments']) {
      const hits = await ctx
        .db(table)
        .whereRaw(`${table}::text like ?`, [`%${bait.marker}%`])
        .count('* as n')
        .first();
      expect({ table, hits: Number(hits!.n) }).toEqual({ table, hits: 0 });
    }
    for (const f of [...walk(path.join(inject('ftpRoot'), tenant)), ...walk(ctx.cfg.fileStore.dir)]) {
      expect(fs.readFileSync(f).includes(bait.marker), f).toBe(false);
    }
  });

  it('nothing was written outside: the ../ and absolute ZIP entries were never extracted', () => {
    expect(fs.existsSync(outside.traversal)).toBe(false);
    expect(fs.existsSync(outside.absolute)).toBe(false);
  });

  it('the worker is still up and polling: a second batch imports', async () => {
    expect(workerEnded).toBe(false);
    await uploadTo(tenant, 'good-3.xml', goodXml('7003'));
    const second = await ctx.batch(tenant);
    expect([second.files, second.imported]).toEqual([1, 1]);
    expect(await ctx.db('estates').where({ tenant_id: tenant, source_id: '7003' }).first()).toBeTruthy();
    expect(workerEnded).toBe(false);
  });
});
