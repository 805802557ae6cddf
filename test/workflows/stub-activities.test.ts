/**
 * The workflows alone: ImportBatch and ImportFile on the suite's Temporal dev server, with stub
 * activities (no FTP, no database, no file store). Each test pins one orchestration rule: the batch's
 * sliding window, the continue-as-new hand-over, and how a failed step is classified. The stubs record
 * what the workflows asked of them; the assertions read those records and the batch's own history.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import type { Activities } from '../../activities';
import type { BatchSummary, ChunkInput, FinishOutcome, FinishResult, ListTransfersResult, RemoteFile } from '../../common/messages';
import { emptyCounts } from '../../common/messages';
import { fileWorkflowId } from '../../common/file-ids';
import { quietRuntime, temporalClient, uniqueId, workflowBundle } from '../support/harness';

/** The activities the two workflows call. */
type Used =
  | 'listTransfers'
  | 'beginImport'
  | 'fetchTransfer'
  | 'parseTransfer'
  | 'upsertEstates'
  | 'upsertAddresses'
  | 'linkContacts'
  | 'storeAttachments'
  | 'mirrorFullTransfer'
  | 'finishImport'
  | 'abandonImport'
  | 'markImportError';
type Stubs = Pick<Activities, Used>;

/** How one file's steps behave in a stub inbox. */
interface FileScript {
  /** parseTransfer fails every attempt with this error. */
  parseFails?: () => Error;
  /** fetchTransfer waits for this before it returns. */
  fetchGate?: (name: string) => Promise<void>;
}

/**
 * An inbox and a ledger in memory. Files leave the listing when finishImport completes them (moved to
 * processed/ or failed/); a file whose import ended in a transient error stays, like on the server.
 */
class StubInbox {
  readonly files: RemoteFile[];
  /** Per activity, the calls in order (inputs only: ids, names, outcomes). */
  readonly calls: { activity: Used; importId: number | null; name: string | null; detail?: unknown; attempt?: number }[] = [];
  private readonly byImport = new Map<number, RemoteFile>();
  private readonly gone = new Set<string>();
  private nextId = 1;
  constructor(
    names: string[],
    private readonly maxConcurrentFiles: number,
    private readonly scripts: Record<string, FileScript> = {},
  ) {
    // Distinct mtimes one minute apart: the listing's order is the upload order.
    this.files = names.map((name, i) => ({ name, size: 100 + i, mtime: new Date(Date.UTC(2026, 10, 25, 10, i)).toISOString() }));
  }

  namesOf(activity: Used): (string | null)[] {
    return this.calls.filter((c) => c.activity === activity).map((c) => c.name);
  }

  private file(importId: number): RemoteFile {
    const f = this.byImport.get(importId);
    if (!f) throw new Error(`stub: no import ${importId}`);
    return f;
  }

  private note(activity: Used, importId: number | null, detail?: unknown, attempt?: number): void {
    this.calls.push({ activity, importId, name: importId === null ? null : this.file(importId).name, detail, attempt });
  }

  activities(): Stubs {
    const chunk =
      (activity: Used) =>
      async (input: ChunkInput): Promise<{ done: number }> => {
        this.note(activity, input.importId);
        return { done: input.to - input.from };
      };
    return {
      listTransfers: async (): Promise<ListTransfersResult> => {
        this.calls.push({ activity: 'listTransfers', importId: null, name: null });
        return { files: this.files.filter((f) => !this.gone.has(f.name)), maxConcurrentFiles: this.maxConcurrentFiles };
      },
      beginImport: async (input) => {
        const importId = this.nextId++;
        this.byImport.set(importId, input.file!);
        this.note('beginImport', importId);
        // No localStepsMaxBytes: every step is a regular activity (retries with the server's timers).
        return { importId, fileName: input.file!.name, finished: null, chunkSize: 100, size: input.file!.size, mirror: false };
      },
      fetchTransfer: async ({ importId }) => {
        this.note('fetchTransfer', importId);
        const name = this.file(importId).name;
        await this.scripts[name]?.fetchGate?.(name);
        return { sha256: '0'.repeat(64), size: this.file(importId).size, duplicateOf: null };
      },
      parseTransfer: async ({ importId }) => {
        this.note('parseTransfer', importId, undefined, Context.current().info.attempt);
        const fails = this.scripts[this.file(importId).name]?.parseFails;
        if (fails) throw fails();
        return { objects: 1, warnings: 0, chunkStarts: [0], umfang: 'TEIL' };
      },
      upsertEstates: chunk('upsertEstates'),
      upsertAddresses: chunk('upsertAddresses'),
      linkContacts: chunk('linkContacts'),
      storeAttachments: chunk('storeAttachments'),
      mirrorFullTransfer: async ({ importId }) => {
        this.note('mirrorFullTransfer', importId);
        return { archived: 0, refused: null };
      },
      finishImport: async ({ importId, outcome }: { importId: number; outcome: FinishOutcome }): Promise<FinishResult> => {
        this.note('finishImport', importId, outcome);
        this.gone.add(this.file(importId).name);
        if (outcome.kind === 'failed') return { outcome: 'failed', counts: emptyCounts() };
        return { outcome: 'imported', counts: { ...emptyCounts(), total: 1, created: 1 } };
      },
      abandonImport: async ({ importId }) => {
        this.note('abandonImport', importId);
        return { outcome: 'failed' };
      },
      markImportError: async ({ importId, message }) => {
        this.note('markImportError', importId, message);
      },
    };
  }
}

/** A transient failure that asks to be retried at once: eight attempts in well under a second. */
const transient = () => ApplicationFailure.create({ message: 'the FTP server dropped the connection', type: 'FtpTransient', nextRetryDelay: '10ms' });

/** The same failure with its retries used up at once (the hand-over test is not about retries). */
const transientSpent = () => ApplicationFailure.create({ message: 'the FTP server dropped the connection', type: 'FtpTransient', nonRetryable: true });

/** The largest number of child workflows open at one time, read from the batch's history. */
function maxOpenChildren(history: temporal.api.history.v1.IHistory): number {
  let open = 0;
  let max = 0;
  for (const e of history.events ?? []) {
    if (e.startChildWorkflowExecutionInitiatedEventAttributes) open++;
    if (
      e.childWorkflowExecutionCompletedEventAttributes ||
      e.childWorkflowExecutionFailedEventAttributes ||
      e.childWorkflowExecutionCanceledEventAttributes ||
      e.childWorkflowExecutionTimedOutEventAttributes ||
      e.childWorkflowExecutionTerminatedEventAttributes ||
      e.startChildWorkflowExecutionFailedEventAttributes
    )
      open--;
    max = Math.max(max, open);
  }
  return max;
}

/** Files whose child workflows the batch's history starts, in the order it starts them. */
function childrenStarted(history: temporal.api.history.v1.IHistory): string[] {
  return (history.events ?? []).flatMap((e) => {
    const id = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    return id ? [id.split('/')[3]!] : [];
  });
}

/** Name and outcome per file, by name (children finish in any order). */
const outcomes = (s: BatchSummary) => s.results.map((r) => [r.name, r.outcome]).sort((a, b) => a[0]!.localeCompare(b[0]!));

/** Resolves once `n` callers wait; fails with `what` when they never arrive (the window is too narrow). */
function barrier(n: number, what: string, timeoutMs = 20_000): () => Promise<void> {
  let waiting = 0;
  let release!: () => void;
  const all = new Promise<void>((r) => (release = r));
  return async () => {
    if (++waiting >= n) release();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), timeoutMs)));
    try {
      await Promise.race([all, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

describe('workflows with stub activities', () => {
  let client: Client;
  let connection: NativeConnection;

  beforeAll(async () => {
    quietRuntime();
    client = await temporalClient();
    connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  });

  afterAll(async () => {
    await connection?.close();
    await client?.connection.close();
  });

  /** Runs one batch on its own task queue with the inbox's stubs; returns its summary and first run's history. */
  async function runBatch(
    inbox: StubInbox,
    tenant: string,
    filesPerRun?: number,
  ): Promise<{ summary: BatchSummary; history: temporal.api.history.v1.IHistory }> {
    const taskQueue = uniqueId('stub-tq');
    const worker = await Worker.create({ connection, taskQueue, workflowBundle: await workflowBundle(), activities: inbox.activities() });
    return worker.runUntil(async () => {
      const handle = await client.workflow.start('importBatch', {
        taskQueue,
        workflowId: uniqueId(`import-batch/${tenant}`),
        args: [{ tenant, filesPerRun }],
        workflowExecutionTimeout: '2m',
      });
      const summary = (await handle.result()) as BatchSummary;
      const history = await client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
      return { summary, history };
    });
  }

  it('the batch runs at most maxConcurrentFiles children at once, and uses the whole window', async () => {
    const tenant = uniqueId('window');
    // The first two fetches wait for each other: with a window of two they meet, with one they never do.
    const meet = barrier(2, 'the fetches of the first two files never overlapped: the batch ran fewer than 2 files at once');
    const names = ['a.xml', 'b.xml', 'c.xml', 'd.xml', 'e.xml', 'f.xml', 'g.xml'];
    const inbox = new StubInbox(names, 2, { 'a.xml': { fetchGate: meet }, 'b.xml': { fetchGate: meet } });
    const { summary, history } = await runBatch(inbox, tenant);

    expect(maxOpenChildren(history), 'child workflows open at once (window = maxConcurrentFiles = 2)').toBe(2);
    expect(childrenStarted(history), 'children start oldest first, each once').toEqual(names);
    expect(summary).toMatchObject({ files: 7, imported: 7, failed: 0, runs: 1, objects: { total: 7, created: 7 } });
  });

  it('continue-as-new hands over the summary and the failed files, which are not tried again in the same batch', async () => {
    const tenant = uniqueId('handover');
    // b.xml ends in a transient error: it stays in the inbox, listed by every run.
    const inbox = new StubInbox(['a.xml', 'b.xml', 'c.xml', 'd.xml', 'e.xml'], 4, { 'b.xml': { parseFails: transientSpent } });
    const { summary, history } = await runBatch(inbox, tenant, 2);

    const continued = (history.events ?? []).find((e) => e.workflowExecutionContinuedAsNewEventAttributes)?.workflowExecutionContinuedAsNewEventAttributes;
    expect(continued, 'the first run (2 of 5 files) continues as new').toBeTruthy();
    // Three runs: [a, b], [c, d] (b is listed again but was attempted), [e].
    expect(
      inbox.calls.filter((c) => c.activity === 'listTransfers'),
      'listTransfers once per run',
    ).toHaveLength(3);
    expect(inbox.namesOf('beginImport').sort(), 'every file begun once; b.xml, still in the inbox, is not retried').toEqual([
      'a.xml',
      'b.xml',
      'c.xml',
      'd.xml',
      'e.xml',
    ]);
    expect(childrenStarted(history), 'the first run starts the two oldest files').toEqual(['a.xml', 'b.xml']);
    expect(summary, 'the summary of all three runs').toMatchObject({
      tenant,
      runs: 3,
      files: 5,
      imported: 4,
      failed: 1,
      objects: { total: 4, created: 4 },
    });
    expect(outcomes(summary)).toEqual([
      ['a.xml', 'imported'],
      ['b.xml', 'error'],
      ['c.xml', 'imported'],
      ['d.xml', 'imported'],
      ['e.xml', 'imported'],
    ]);
    expect(summary.results.find((r) => r.name === 'b.xml')?.workflowId).toBe(fileWorkflowId(tenant, inbox.files[1]!));
  });

  it('a permanent error (MalformedXml) fails the file at once: finishImport moves it to failed/, no error mark', async () => {
    const tenant = uniqueId('permanent');
    const malformed = () => ApplicationFailure.nonRetryable('unclosed tag <geo> at line 3', 'MalformedXml');
    const inbox = new StubInbox(['bad.xml', 'good.xml'], 2, { 'bad.xml': { parseFails: malformed } });
    const { summary } = await runBatch(inbox, tenant);

    const bad = inbox.calls.filter((c) => c.name === 'bad.xml');
    expect(
      bad.filter((c) => c.activity === 'parseTransfer').map((c) => c.attempt),
      'parse is not retried',
    ).toEqual([1]);
    expect(bad.filter((c) => c.activity === 'finishImport').map((c) => c.detail)).toEqual([
      { kind: 'failed', errorType: 'MalformedXml', message: 'unclosed tag <geo> at line 3' },
    ]);
    expect(inbox.namesOf('markImportError'), 'markImportError is for transient errors only').toEqual([]);
    expect(
      bad.map((c) => c.activity),
      'no apply step after a failed parse',
    ).not.toContain('upsertEstates');
    expect(outcomes(summary)).toEqual([
      ['bad.xml', 'failed'],
      ['good.xml', 'imported'],
    ]);
    expect(summary).toMatchObject({ files: 2, imported: 1, failed: 1 });
  });

  it('a transient error out of retries marks the import as error and leaves the file where it is', async () => {
    const tenant = uniqueId('transient');
    const inbox = new StubInbox(['flaky.xml'], 1, { 'flaky.xml': { parseFails: transient } });
    const { summary } = await runBatch(inbox, tenant);

    const flaky = inbox.calls.filter((c) => c.name === 'flaky.xml');
    expect(
      flaky.filter((c) => c.activity === 'parseTransfer').map((c) => c.attempt),
      'all 8 attempts of the retry policy',
    ).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(flaky.filter((c) => c.activity === 'markImportError').map((c) => [c.importId, c.detail])).toEqual([[1, 'the FTP server dropped the connection']]);
    expect(
      flaky.map((c) => c.activity),
      'finishImport would move the file out of the inbox',
    ).not.toContain('finishImport');
    expect(outcomes(summary)).toEqual([['flaky.xml', 'error']]);
    expect(summary).toMatchObject({ files: 1, imported: 0, failed: 1 });
  });
});
