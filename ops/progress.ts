/**
 * Progress of a running batch or replay, as the CLI shows it: a live bar on a terminal (cli-progress),
 * and without one (a pipe, a log file, CI) a plain line at most every few seconds plus a final line,
 * so a batch of 1,000 files prints a handful of lines, not 1,000. The figures come from the
 * workflows' `progress` queries (importBatchProgress, importFileProgress); nothing is estimated from
 * the ledger.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import type { WorkflowHandle } from '@temporalio/client';
import type { BatchSummary, ImportFileResult } from '../common/messages';
import { setConsoleWriter } from '../common/logger';

/** One line of progress: `done` of `total` units, objects so far, and what it is doing. */
export interface ProgressSnapshot {
  done: number;
  total: number;
  /** False while the total is not known yet (the inbox is being listed): shown as `?`. */
  totalKnown?: boolean;
  unit: 'files' | 'objects';
  /** Objects of the finished files (a batch), or objects applied (one file). */
  objects: number;
  /** What runs now, e.g. `running 4, waiting 20` or a file's step. */
  activity?: string;
}

export type Clock = () => number;

/** `42s`, `3m05s`, `1h02m`: elapsed times and ETAs. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
}

/** Rate (units per second) and the seconds left at that rate; null while nothing is done or nothing is known. */
export function rateAndEta(done: number, total: number, elapsedMs: number): { rate: number | null; etaSeconds: number | null } {
  if (done <= 0 || elapsedMs <= 0) return { rate: null, etaSeconds: null };
  const rate = done / (elapsedMs / 1000);
  return { rate, etaSeconds: total > done ? (total - done) / rate : 0 };
}

/** The figures after the bar: `files 3/5 | objects 12 | 1.5 files/s | elapsed 2s | ETA 1s | running 2`. */
export function progressFigures(p: ProgressSnapshot, elapsedMs: number): string {
  const { rate, etaSeconds } = rateAndEta(p.done, p.total, elapsedMs);
  const known = p.totalKnown ?? p.total > 0;
  const parts = [`${p.unit} ${p.done}/${known ? p.total : '?'}`];
  if (p.unit === 'files') parts.push(`objects ${p.objects}`);
  parts.push(rate === null ? `- ${p.unit}/s` : `${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)} ${p.unit}/s`);
  parts.push(`elapsed ${formatSeconds(elapsedMs / 1000)}`);
  parts.push(`ETA ${etaSeconds === null || !known ? '-' : formatSeconds(etaSeconds)}`);
  if (p.activity) parts.push(p.activity);
  return parts.join(' | ');
}

/**
 * When a plain (non-terminal) progress line is due: the first one at once, then at most one every
 * `intervalMs` when the counts changed (or after `quietMs` without a change, to show it still runs),
 * and the final one always.
 */
export class LineThrottle {
  private lastAt: number | null = null;
  private lastKey: string | null = null;

  constructor(
    private readonly intervalMs = 5000,
    private readonly now: Clock = Date.now,
    private readonly quietMs = 60_000,
  ) {}

  /** `key`: what the line says apart from times (the counts); true when the line should be printed. */
  due(key: string, final = false): boolean {
    const t = this.now();
    const since = this.lastAt === null ? Infinity : t - this.lastAt;
    const print = final || since === Infinity || (since >= this.intervalMs && (key !== this.lastKey || since >= this.quietMs));
    if (print) {
      this.lastAt = t;
      this.lastKey = key;
    }
    return print;
  }
}

/** Shows one or more progress lines (a bar each on a terminal) until finish(). */
export interface ProgressView {
  update(label: string, p: ProgressSnapshot): void;
  finish(): void;
}

type Out = { write(s: string): unknown };

/** Plain lines: each label's line when its throttle says so, and its last line at the end. */
export function plainProgress(out: Out, o: { now?: Clock; intervalMs?: number } = {}): ProgressView {
  const now = o.now ?? Date.now;
  const started = now();
  const lines = new Map<string, { throttle: LineThrottle; last: ProgressSnapshot; shown: boolean }>();
  const line = (label: string, p: ProgressSnapshot) => `${label}: ${progressFigures(p, now() - started)}`;
  return {
    update(label, p) {
      let l = lines.get(label);
      if (!l) lines.set(label, (l = { throttle: new LineThrottle(o.intervalMs, now), last: p, shown: false }));
      l.last = p;
      l.shown = l.throttle.due(`${p.done}/${p.total}/${p.objects}/${p.activity ?? ''}`);
      if (l.shown) out.write(line(label, p) + '\n');
    },
    /** The last line of each label, unless it was just printed. */
    finish() {
      for (const [label, l] of lines) if (!l.shown) out.write(line(label, l.last) + '\n');
    },
  };
}

/** Live bars (cli-progress); log lines written meanwhile appear above them instead of through them. */
export function barProgress(out: NodeJS.WriteStream, o: { now?: Clock } = {}): ProgressView {
  const now = o.now ?? Date.now;
  const started = now();
  const multi = new MultiBar({
    stream: out,
    format: '{label} [{bar}] {figures}',
    barsize: 24,
    barCompleteChar: '█',
    barIncompleteChar: '░',
    hideCursor: false,
    // Bars are cut to the terminal's width; log lines printed above them wrap as usual (complete).
    linewrap: true,
    gracefulExit: false,
    fps: 5,
  });
  const bars = new Map<string, SingleBar>();
  const restore = setConsoleWriter((line) => multi.log(line));
  return {
    update(label, p) {
      const payload = { label, figures: progressFigures(p, now() - started) };
      const bar = bars.get(label);
      // A total of 0 (the inbox not listed yet) would draw a full bar: 1 keeps it empty until it is known.
      if (!bar) bars.set(label, multi.create(Math.max(p.total, 1), p.done, payload));
      else {
        bar.setTotal(Math.max(p.total, 1));
        bar.update(p.done, payload);
      }
    },
    finish() {
      multi.update(); // draws the last values and the log lines still buffered
      multi.stop();
      setConsoleWriter(restore);
    },
  };
}

/** A bar on a terminal, plain throttled lines otherwise. */
export function progressView(out: NodeJS.WriteStream): ProgressView {
  return out.isTTY ? barProgress(out) : plainProgress(out);
}

type BatchProgress = BatchSummary & { pending: number; running: number };

/** A batch's query answer as a progress line (`final`: its result, whose total is known even when it is 0). */
export function batchSnapshot(p: BatchProgress, final = false): ProgressSnapshot {
  const activity = p.running + p.pending > 0 ? `running ${p.running}, waiting ${p.pending}` : undefined;
  const problems = [p.partial && `partial ${p.partial}`, p.failed && `failed ${p.failed}`].filter(Boolean).join(', ');
  return {
    done: p.files,
    total: p.files + p.running + p.pending,
    totalKnown: final || p.files + p.running + p.pending > 0,
    unit: 'files',
    objects: p.objects.total,
    activity: [activity, problems].filter(Boolean).join('; ') || undefined,
  };
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/**
 * Polls into the view until `result` settles, one poll at a time: the next one `everyMs` after the
 * previous one settled. Poll errors are skipped (between runs, a worker gone). When `result`
 * settles, the poll in flight is told to stop (`signal`) and awaited before this returns, so the
 * caller may close the Temporal connection: a query still retrying on it (no worker to answer) would
 * otherwise send again on a closed channel and crash the process.
 */
export async function follow<T>(result: Promise<T>, poll: (signal: AbortSignal) => Promise<void>, everyMs: number): Promise<T> {
  const stop = new AbortController();
  const polling = (async () => {
    while (!stop.signal.aborted) {
      await poll(stop.signal).catch(() => undefined);
      await pause(everyMs, stop.signal);
    }
  })();
  try {
    return await result;
  } finally {
    stop.abort();
    await polling;
  }
}

/** How long one progress query may take (its retries included) before it is given up: the next one is asked. */
export const PROGRESS_QUERY_DEADLINE_MS = 10_000;

/**
 * Asks a workflow's `progress` query with a deadline and `signal`: a query that no worker answers
 * ends by itself, and one in flight when the follower stops is cancelled.
 */
function queryProgress(handle: WorkflowHandle, signal: AbortSignal): Promise<unknown> {
  const client = handle.client;
  return client.withAbortSignal(signal, () => client.withDeadline(Date.now() + PROGRESS_QUERY_DEADLINE_MS, () => handle.query('progress')));
}

/**
 * Follows a batch (through continue-as-new) with a progress view; returns its summary. `until`: stop
 * following when it settles first (the batch goes on; the promise rejects).
 */
export async function followBatch(
  run: { workflowId: string; handle: WorkflowHandle; result(): Promise<BatchSummary> },
  out: NodeJS.WriteStream = process.stderr,
  o: { label?: string; view?: ProgressView; everyMs?: number; until?: Promise<unknown> } = {},
): Promise<BatchSummary> {
  const view = o.view ?? progressView(out);
  const label = o.label ?? 'batch';
  const stopped = o.until?.then(() => {
    throw new Error(`stopped following ${run.workflowId}`);
  });
  try {
    const summary = await follow(
      stopped ? Promise.race([run.result(), stopped]) : run.result(),
      async (signal) => view.update(label, batchSnapshot((await queryProgress(run.handle, signal)) as BatchProgress)),
      o.everyMs ?? 1000,
    );
    view.update(label, batchSnapshot({ ...summary, running: 0, pending: 0 }, true));
    return summary;
  } finally {
    view.finish();
  }
}

interface FileProgress {
  step: string;
  objectsTotal: number;
  objectsDone: number;
}

/** Follows file workflows (replays) with one progress line each; returns each one's result or error. */
export async function followFiles(
  files: { label: string; handle: WorkflowHandle }[],
  out: NodeJS.WriteStream = process.stderr,
  o: { view?: ProgressView; everyMs?: number } = {},
): Promise<PromiseSettledResult<ImportFileResult>[]> {
  const view = o.view ?? progressView(out);
  const snapshot = (p: FileProgress): ProgressSnapshot => ({
    done: p.objectsDone,
    total: p.objectsTotal,
    unit: 'objects',
    objects: p.objectsDone,
    activity: p.step,
  });
  // One line each, in the order given (before any answer arrives).
  for (const f of files) view.update(f.label, { done: 0, total: 0, unit: 'objects', objects: 0, activity: 'starting' });
  // A finished file's line is its result, worded as the workflow's last step; a query answered after
  // the result (it may have been asked before) does not overwrite it.
  const finished = new Set<string>();
  const results = files.map(async (f) => {
    const r = (await f.handle.result()) as ImportFileResult;
    finished.add(f.label);
    view.update(f.label, {
      done: r.counts.total,
      total: r.counts.total,
      totalKnown: true,
      unit: 'objects',
      objects: r.counts.total,
      activity: `done: ${r.outcome}`,
    });
    return r;
  });
  const poll = async (signal: AbortSignal) => {
    // A file whose query fails (between attempts, or gone) keeps its last line.
    await Promise.allSettled(
      files
        .filter((f) => !finished.has(f.label))
        .map(async (f) => {
          const p = (await queryProgress(f.handle, signal)) as FileProgress;
          if (!finished.has(f.label)) view.update(f.label, snapshot(p));
        }),
    );
  };
  try {
    return await follow(Promise.allSettled(results), poll, o.everyMs ?? 1000);
  } finally {
    view.finish();
  }
}
