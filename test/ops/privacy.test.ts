/**
 * R10 and design.md §4 ("nothing personal goes through Temporal"), checked on the real thing: the
 * project's IMV transfers (test/fixtures/transfers, plus a truncated copy that fails mid-contact, and a replay) are imported; then the
 * complete histories of every batch, file and replay workflow (payloads decoded), their memos,
 * search attributes and summaries, the schedule, and the worker's captured JSON logs (its own and
 * the SDK's) must contain none of the owners' names, e-mails or phones, nor the FTP password.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { AppConfig } from '../../config/config';
import type { Db } from '../../db/db';
import { describeSchedule } from '../../ops/schedule';
import { triggerBatch } from '../../ops/batches';
import { startReplay } from '../../ops/replay';
import { installRuntime } from '../../workers/main';
import { fixturesDir, uniqueId, uploadTo, usePipeline } from '../support/harness';
import { FTP_PASSWORD } from '../support/vsftpd';
import { captureLog, type CapturedLog } from './support';

const transfer = (f: string) => fs.readFileSync(path.join(fixturesDir, 'transfers', f));

/** What the transfers say about their owners (as written in the files), beside what the database holds. */
const KNOWN_PERSONAL = [
  'Wüstefeld',
  'henrike.wuestefeld@example.org',
  '+49 2161 5550177',
  '+49 151 5550177',
  'Käßler',
  'b.kaessler@example.net',
  '03581 555044',
  'Çelik',
  'a.celik@example.com',
  'Tiedemann',
  'kontakt@weser-gewerbe.example',
];

/** Bytes (payload data and metadata) become text, so JSON payloads are searchable as written. */
function decodeDeep(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (Array.isArray(v)) return v.map(decodeDeep);
  if (v && typeof v === 'object') {
    if (typeof (v as { toNumber?: unknown }).toNumber === 'function' && 'low' in v && 'high' in v) return String(v);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = decodeDeep(x);
    return out;
  }
  return v;
}

const asText = (v: unknown) => JSON.stringify(decodeDeep(v));

function leaks(text: string, secrets: string[]): string[] {
  const lower = text.toLowerCase();
  return secrets.filter((s) => lower.includes(s.toLowerCase()));
}

describe('no personal data or credentials in Temporal or the logs', () => {
  const tenant = uniqueId('privacy');
  const captured: CapturedLog = captureLog('debug');
  // No worker from the harness: the SDK's runtime log must go to the same pino logger first, as in the worker process.
  const pipeline = usePipeline({ tenants: [{ id: tenant }], identities: [], schedules: true, workerOptions: { log: captured.log } });
  let cfg: AppConfig;
  let db: Db;
  let client: Client;

  beforeAll(async () => {
    ({ cfg, db, client } = pipeline);
    await installRuntime(cfg, { log: captured.log, sdkLogLevel: 'INFO' });
    await pipeline.startWorker('worker-privacy');
  });

  it('the check decodes payload bytes before it searches them', () => {
    const payload = {
      metadata: { encoding: new Uint8Array(Buffer.from('json/plain')) },
      data: new Uint8Array(Buffer.from(JSON.stringify({ lastName: 'Käßler' }))),
    };
    expect(JSON.stringify(payload)).not.toContain('Käßler');
    expect(leaks(asText({ events: [{ input: { payloads: [payload] } }] }), ['käßler', 'Tiedemann'])).toEqual(['käßler']);
  });

  it('histories, memos, search attributes, summaries and logs of a full import carry ids and counts only', async () => {
    // Batch 1: the new objects, and a copy of 1001 cut off in the middle of its owner's data.
    for (const f of ['imv-flat-1001.xml', 'imv-latin1-house-1002-flat-1003.xml', 'imv-office-1004-with-pictures.zip']) await uploadTo(tenant, f, transfer(f));
    const full = transfer('imv-flat-1001.xml').toString('utf8');
    const cut = full.indexOf('</tel_privat>');
    expect(cut).toBeGreaterThan(0);
    await uploadTo(tenant, 'imv-1001-truncated.xml', full.slice(0, cut).replace(/1001/g, '1901'));
    const b1 = await triggerBatch(client, tenant);
    expect(await b1.result()).toMatchObject({ files: 4, imported: 3, failed: 1 });
    // Batch 2: the update/delete.
    await uploadTo(tenant, 'imv-update-1001-delete-1003.xml', transfer('imv-update-1001-delete-1003.xml'));
    const b2 = await triggerBatch(client, tenant);
    expect(await b2.result()).toMatchObject({ files: 1, imported: 1 });
    // A replay of the first file (stale by now).
    const first = await db('import_files').where({ tenant_id: tenant, file_name: 'imv-flat-1001.xml' }).first();
    const replay = await startReplay(cfg, client, db, first.id);
    expect((await replay.handle.result()).counts.stale).toBe(1);

    // The secrets: the owners as the database holds them (so the import really carried them) …
    const addresses = await db('addresses').where({ tenant_id: tenant });
    expect(addresses.length).toBeGreaterThanOrEqual(4);
    const fromDb = addresses.flatMap((a) => [
      a.last_name,
      a.first_name,
      a.company,
      a.street,
      ...Object.values(a.emails as Record<string, string>),
      ...Object.values(a.phones as Record<string, string>),
      ...Object.values(a.phones as Record<string, string>).map((p) => p.replace(/[^\d+]/g, '')),
    ]);
    const dbNames = addresses.map((a) => a.last_name);
    for (const n of ['Wüstefeld', 'Käßler', 'Çelik']) expect(dbNames).toContain(n);
    // … the owners as the transfers wrote them, and the FTP password.
    const secrets = [...new Set([...KNOWN_PERSONAL, ...fromDb, FTP_PASSWORD].filter((s): s is string => typeof s === 'string' && s.length >= 4))];
    expect(secrets).toContain(FTP_PASSWORD);

    // Every workflow of this tenant: 2 batches, 5 files, 1 replay.
    let runs: WorkflowExecutionInfo[] = [];
    for (let i = 0; i < 100; i++) {
      runs = [];
      for await (const w of client.workflow.list({ query: `ImportTenant="${tenant}"` })) runs.push(w);
      if (runs.length >= 8 && runs.every((r) => r.status.name !== 'RUNNING')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const types = runs.map((r) => r.type).sort();
    expect(types).toEqual(['importBatch', 'importBatch', 'importFile', 'importFile', 'importFile', 'importFile', 'importFile', 'importFile']);
    expect(runs.map((r) => r.workflowId)).toContain(replay.workflowId);
    expect(runs.map((r) => r.workflowId)).toContain(b1.workflowId);

    const checked: string[] = [];
    for (const r of runs) {
      const handle = client.workflow.getHandle(r.workflowId, r.runId);
      const history = await handle.fetchHistory();
      const historyText = asText(history);
      // The decoding works: the summary (a payload in the start event's metadata) is readable.
      expect(historyText).toContain(r.type === 'importBatch' ? `Import batch for tenant ${tenant}` : `for tenant ${tenant}`);
      expect(leaks(historyText, secrets), `history of ${r.workflowId}`).toEqual([]);

      const desc = await handle.describe();
      const descText = asText({
        raw: desc.raw,
        memo: desc.memo,
        searchAttributes: desc.searchAttributes,
        typed: desc.typedSearchAttributes,
        summary: await desc.staticSummary(),
        details: await desc.staticDetails(),
      });
      expect(descText).toContain(tenant);
      expect(leaks(descText, secrets), `description of ${r.workflowId}`).toEqual([]);
      expect(leaks(asText({ memo: r.memo, searchAttributes: r.searchAttributes, raw: r.raw }), secrets), `visibility of ${r.workflowId}`).toEqual([]);
      checked.push(r.workflowId);
    }
    expect(checked).toHaveLength(8);

    // The failed file's failure (message, type) is in history, without the content it broke on.
    const failed = runs.find((r) => r.status.name === 'FAILED');
    expect(failed?.workflowId).toContain('imv-1001-truncated.xml');
    const failedHistory = asText(await client.workflow.getHandle(failed!.workflowId, failed!.runId).fetchHistory());
    expect(failedHistory).toContain('MalformedXml');

    // The schedule (its action's arguments, memo, summary).
    expect(leaks(asText((await describeSchedule(client, tenant)).raw), secrets)).toEqual([]);

    // The logs: structured, per activity, with ids, durations and outcomes — and nothing personal.
    const logText = captured.text();
    expect(leaks(logText, secrets), 'worker log').toEqual([]);
    const records = captured.records();
    const finishes = records.filter((l) => l.activityType === 'finishImport' && l.outcome === 'completed');
    expect(finishes).toHaveLength(6);
    for (const l of finishes) {
      expect(l).toMatchObject({ tenant, workflowType: 'importFile' });
      expect(typeof l.workflowId).toBe('string');
      expect(typeof l.importId).toBe('number');
      expect(typeof l.durationMs).toBe('number');
      expect(['imported', 'failed']).toContain(l.fileOutcome);
    }
    const parseFailure = records.find((l) => l.activityType === 'parseTransfer' && l.outcome === 'failed');
    expect(parseFailure).toMatchObject({ tenant, errorType: 'MalformedXml', level: 40 });
    // No generic dump of activity arguments or results.
    expect(records.some((l) => 'args' in l || 'input' in l || 'result' in l)).toBe(false);
    expect(records.some((l) => l.component === 'temporal-sdk')).toBe(true);
  });
});
