/** A big import's feedback is streamed page by page; it must be the very document a small import gets at once. */
import { describe, expect, it } from 'vitest';
import { buildFeedback, feedbackChunks } from '../../activities/feedback';
import type { ObjectOutcome } from '../../db/ledger/objects';
import type { ImportRow } from '../../db/ledger/row';

const row = {
  id: 7,
  tenant_id: 'demo',
  file_name: 'big & "odd" <name>.xml',
  meta: { providers: [{ anbieternr: 'A1', openimmoAnid: 'OI-1' }] },
} as unknown as ImportRow;

const objects: ObjectOutcome[] = Array.from({ length: 2500 }, (_, i) => ({
  position: i,
  source_id: i % 500 === 3 ? null : `IMV-${i}`,
  outcome: i % 7 === 0 ? 'rejected' : i % 11 === 0 ? 'not-found' : 'created',
  messages: i % 7 === 0 ? [`object ${i}: unknown user <x>`] : [],
  external_number: i % 7 === 0 ? null : `EXT-${i}`,
}));

async function streamed(pages: ObjectOutcome[][], fileError: { errorType: string; message: string } | null): Promise<string> {
  const problems = pages.flat().filter((o) => o.messages.length > 0);
  let text = '';
  async function* gen() {
    for (const p of pages) yield p;
  }
  for await (const piece of feedbackChunks(row, 'partial', fileError, gen(), problems)) text += piece;
  return text;
}

const sameDay = (xml: string) => xml.replace(/<datum>[^<]*<\/datum>/, '<datum/>');

describe('feedback streamed page by page', () => {
  it('is the document buildFeedback makes from all objects at once (pages of 1000, 1000, 500 and an empty one)', async () => {
    const pages = [objects.slice(0, 1000), objects.slice(1000, 2000), objects.slice(2000), []];
    const whole = buildFeedback(row, 'partial', null, objects);
    expect(whole).toContain('<fehlerliste>');
    expect(whole.match(/<objekt>/g)).toHaveLength(2500);
    expect(sameDay(await streamed(pages, null))).toBe(sameDay(whole));
  });

  it('carries the file error the same way', async () => {
    const err = { errorType: 'MalformedXml', message: 'unclosed tag' };
    const whole = buildFeedback(row, 'partial', err, objects.slice(0, 10));
    expect(whole).toContain('MalformedXml: unclosed tag');
    expect(sameDay(await streamed([objects.slice(0, 10)], err))).toBe(sameDay(whole));
  });
});
