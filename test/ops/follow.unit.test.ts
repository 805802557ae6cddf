/**
 * Issue 17, defect 1: `follow()` (progress of `schedule trigger --wait`, `import --wait`, `replay`)
 * asks one progress query at a time and waits for it before it returns, so that no query is still
 * retrying when the command closes its Temporal connection. The polls here are promises resolved by
 * hand; the clock is vitest's fake one, advanced explicitly: nothing waits for real time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { follow } from '../../ops/progress';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A poll whose answers arrive only when the test says so; it counts what is in flight. */
function slowPoll() {
  const calls: { answer: Deferred<void>; signal: AbortSignal | undefined; settled: boolean }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const poll = (signal?: AbortSignal) => {
    const answer = deferred<void>();
    const call = { answer, signal, settled: false };
    calls.push(call);
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    return answer.promise.finally(() => {
      call.settled = true;
      inFlight--;
    });
  };
  return { poll, calls, inFlight: () => inFlight, maxInFlight: () => maxInFlight };
}

/** Whether `p` has settled once the microtasks queued so far have run. */
async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await vi.advanceTimersByTimeAsync(0);
  return settled;
}

describe('follow()', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never has more than one poll in flight, however long a poll takes', async () => {
    const result = deferred<string>();
    const p = slowPoll();
    const followed = follow(result.promise, p.poll, 1000);
    await vi.advanceTimersByTimeAsync(0);
    expect(p.calls).toHaveLength(1);
    // The first query hangs (no worker to answer it) for a minute of the follower's clock.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(p.maxInFlight()).toBe(1);
    expect(p.calls).toHaveLength(1);
    // Once it is answered, the next one is asked a poll interval later, not at once.
    p.calls[0].answer.resolve();
    await vi.advanceTimersByTimeAsync(999);
    expect(p.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(p.calls).toHaveLength(2);
    expect(p.maxInFlight()).toBe(1);
    p.calls[1].answer.resolve();
    result.resolve('done');
    expect(await followed).toBe('done');
    expect(p.maxInFlight()).toBe(1);
  });

  it('returns only once the poll in flight has settled, and tells it to stop', async () => {
    const result = deferred<string>();
    const p = slowPoll();
    const followed = follow(result.promise, p.poll, 1000);
    await vi.advanceTimersByTimeAsync(0);
    p.calls[0].answer.resolve();
    await vi.advanceTimersByTimeAsync(1000);
    expect(p.calls).toHaveLength(2);
    // The result arrives while the second query is still retrying.
    result.resolve('summary');
    expect(await isSettled(followed)).toBe(false);
    expect(p.calls[1].signal?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await isSettled(followed)).toBe(false);
    expect(p.calls).toHaveLength(2);
    // It fails (cancelled): follow returns the result, and nothing is asked after that.
    p.calls[1].answer.reject(new Error('1 CANCELLED: Cancelled on client'));
    expect(await followed).toBe('summary');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(p.calls).toHaveLength(2);
    expect(p.calls.every((c) => c.settled)).toBe(true);
  });

  it('a failed poll is skipped and polling goes on; a failed result is thrown after the poll settled', async () => {
    const result = deferred<string>();
    const p = slowPoll();
    const followed = follow(result.promise, p.poll, 1000);
    followed.catch(() => undefined);
    await vi.advanceTimersByTimeAsync(0);
    p.calls[0].answer.reject(new Error('query failed'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(p.calls).toHaveLength(2);
    result.reject(new Error('batch failed'));
    expect(await isSettled(followed)).toBe(false);
    p.calls[1].answer.resolve();
    await expect(followed).rejects.toThrow('batch failed');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(p.calls).toHaveLength(2);
  });
});
