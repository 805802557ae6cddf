/**
 * Progress without a terminal: plain lines, at most one every few seconds plus a final one, so a batch
 * of 1,000 files prints a handful of lines. The clock is injected: nothing here sleeps.
 */
import { describe, expect, it } from 'vitest';
import { batchSnapshot, formatSeconds, LineThrottle, plainProgress, progressFigures, rateAndEta } from '../../ops/progress';
import { emptyCounts, type BatchSummary } from '../../common/messages';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('LineThrottle', () => {
  it('prints the first line at once, then at most one per interval, and only when the counts changed', () => {
    const c = clock();
    const th = new LineThrottle(5000, c.now);
    expect(th.due('0/10')).toBe(true);
    c.advance(1000);
    expect(th.due('1/10')).toBe(false);
    c.advance(3999);
    expect(th.due('2/10')).toBe(false);
    c.advance(1);
    expect(th.due('2/10')).toBe(true);
    c.advance(5000);
    expect(th.due('2/10')).toBe(false); // nothing changed
    c.advance(100);
    expect(th.due('3/10')).toBe(true);
  });

  it('prints an unchanged line after the quiet time (it still runs), and the final line always', () => {
    const c = clock();
    const th = new LineThrottle(5000, c.now, 60_000);
    expect(th.due('5/10')).toBe(true);
    c.advance(59_999);
    expect(th.due('5/10')).toBe(false);
    c.advance(1);
    expect(th.due('5/10')).toBe(true);
    expect(th.due('10/10', true)).toBe(true);
  });
});

describe('plainProgress', () => {
  it('a batch of 1,000 files polled every second for 200 s prints about one line per 5 s and a final line', () => {
    const c = clock();
    const out: string[] = [];
    const view = plainProgress({ write: (s: string) => void out.push(s) }, { now: c.now, intervalMs: 5000 });
    for (let s = 0; s <= 200; s++) {
      view.update('demo', { done: s * 5, total: 1000, unit: 'files', objects: s * 5, activity: 'running 16' });
      c.advance(1000);
    }
    view.finish();
    expect(out.length).toBeGreaterThanOrEqual(40);
    expect(out.length).toBeLessThanOrEqual(42);
    expect(out.every((l) => l.endsWith('\n') && l.startsWith('demo: files '))).toBe(true);
    expect(out[0]).toBe('demo: files 0/1000 | objects 0 | - files/s | elapsed 0s | ETA - | running 16\n');
    expect(out.at(-1)).toMatch(/^demo: files 1000\/1000 \| objects 1000 \| 5\.0 files\/s \| elapsed 3m2[01]s \| ETA 0s/);
  });

  it('prints the final line once, also when the last update was printed', () => {
    const c = clock();
    const out: string[] = [];
    const view = plainProgress({ write: (s: string) => void out.push(s) }, { now: c.now });
    view.update('import 7', { done: 0, total: 3, unit: 'objects', objects: 0, activity: 'parse' });
    c.advance(6000);
    view.update('import 7', { done: 3, total: 3, unit: 'objects', objects: 3, activity: 'imported' });
    view.finish();
    expect(out).toEqual([
      'import 7: objects 0/3 | - objects/s | elapsed 0s | ETA - | parse\n',
      'import 7: objects 3/3 | 0.5 objects/s | elapsed 6s | ETA 0s | imported\n',
    ]);
  });

  it('a quick batch prints its first and final line only', () => {
    const c = clock();
    const out: string[] = [];
    const view = plainProgress({ write: (s: string) => void out.push(s) }, { now: c.now });
    view.update('demo', { done: 0, total: 0, unit: 'files', objects: 0 });
    c.advance(800);
    view.update('demo', { done: 4, total: 4, unit: 'files', objects: 5 });
    view.finish();
    expect(out).toEqual([
      'demo: files 0/? | objects 0 | - files/s | elapsed 0s | ETA -\n',
      'demo: files 4/4 | objects 5 | 5.0 files/s | elapsed 1s | ETA 0s\n',
    ]);
  });
});

describe('figures', () => {
  it('rate and ETA from what is done so far', () => {
    expect(rateAndEta(0, 10, 5000)).toEqual({ rate: null, etaSeconds: null });
    expect(rateAndEta(5, 10, 10_000)).toEqual({ rate: 0.5, etaSeconds: 10 });
    expect(rateAndEta(10, 10, 10_000)).toEqual({ rate: 1, etaSeconds: 0 });
  });

  it('durations read as seconds, minutes, hours', () => {
    expect([0, 9.6, 59, 60, 185, 3600, 3725].map(formatSeconds)).toEqual(['0s', '10s', '59s', '1m00s', '3m05s', '1h00m', '1h02m']);
  });

  it("a batch's query answer: files done of done + running + waiting, objects of the finished files, problems named", () => {
    const q: BatchSummary & { pending: number; running: number } = {
      tenant: 'demo',
      files: 3,
      imported: 1,
      partial: 1,
      failed: 1,
      duplicate: 0,
      skipped: 0,
      objects: { ...emptyCounts(), total: 7 },
      results: [],
      runs: 1,
      running: 2,
      pending: 5,
    };
    const s = batchSnapshot(q);
    expect(s).toEqual({ done: 3, total: 10, totalKnown: true, unit: 'files', objects: 7, activity: 'running 2, waiting 5; partial 1, failed 1' });
    expect(progressFigures(s, 3000)).toBe('files 3/10 | objects 7 | 1.0 files/s | elapsed 3s | ETA 7s | running 2, waiting 5; partial 1, failed 1');
  });

  it('a batch still listing its inbox has no total yet; an empty batch that finished has 0', () => {
    const q = {
      tenant: 'demo',
      files: 0,
      imported: 0,
      partial: 0,
      failed: 0,
      duplicate: 0,
      skipped: 0,
      objects: emptyCounts(),
      results: [],
      runs: 1,
      running: 0,
      pending: 0,
    };
    expect(progressFigures(batchSnapshot(q), 500)).toBe('files 0/? | objects 0 | - files/s | elapsed 1s | ETA -');
    expect(progressFigures(batchSnapshot(q, true), 500)).toBe('files 0/0 | objects 0 | - files/s | elapsed 1s | ETA -');
  });
});
