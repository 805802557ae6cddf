/**
 * The attachments step's rules: when a chunk gives it work (the estates step reports it, and the workflow
 * leaves an idle step out), and the order of an estate's set (title picture first).
 */
import { describe, expect, it } from 'vitest';
import { needsAttachmentStep, orderAttachments } from '../../domain/attachment-step';
import type { AttachmentRef } from '../../openimmo/types';

const picture = { position: 0, group: 'TITELBILD', title: null, format: 'jpg', source: { kind: 'url', url: 'https://example.org/a.jpg' } } as never;
const row = (outcome: string | null, action: string, attachments: unknown[] = []) => ({ outcome, payload: { action, attachments } as never });

describe('needsAttachmentStep', () => {
  it('new estates without pictures need nothing (IMV’s usual one-object file)', () => {
    expect(needsAttachmentStep([row('created', 'CHANGE'), row('created', 'CHANGE')])).toBe(false);
  });

  it('a new estate with pictures needs the step', () => {
    expect(needsAttachmentStep([row('created', 'CHANGE'), row('created', 'CHANGE', [picture])])).toBe(true);
  });

  it('an updated estate needs it even without pictures: its set is replaced, i.e. emptied', () => {
    expect(needsAttachmentStep([row('updated', 'CHANGE')])).toBe(true);
  });

  it('objects not applied (rejected, stale, deleted) and DELETE objects need nothing', () => {
    expect(needsAttachmentStep([row('rejected', 'CHANGE', [picture]), row('stale', 'CHANGE', [picture]), row('deleted', 'DELETE', [picture])])).toBe(false);
    expect(needsAttachmentStep([row('updated', 'DELETE')])).toBe(false);
    expect(needsAttachmentStep([row(null, 'CHANGE', [picture])])).toBe(false);
    expect(needsAttachmentStep([])).toBe(false);
  });
});

describe('orderAttachments', () => {
  const ref = (position: number, group: string | null): AttachmentRef => ({
    position,
    group,
    title: null,
    format: 'jpg',
    location: null,
    source: { kind: 'url', url: `https://example.org/${position}.jpg` },
    check: null,
  });

  it('the title picture first, the others as sent; the list given is left as it is', () => {
    const sent = [ref(0, 'INNENANSICHTEN'), ref(1, 'GRUNDRISS'), ref(2, 'TITELBILD'), ref(3, null), ref(4, 'INNENANSICHTEN')];
    expect(orderAttachments(sent).map((a) => a.position)).toEqual([2, 0, 1, 3, 4]);
    expect(sent.map((a) => a.position)).toEqual([0, 1, 2, 3, 4]);
  });

  it('several title pictures keep their order among themselves, ahead of the rest', () => {
    expect(orderAttachments([ref(0, null), ref(1, 'TITELBILD'), ref(2, 'TITELBILD')]).map((a) => a.position)).toEqual([1, 2, 0]);
  });
});
