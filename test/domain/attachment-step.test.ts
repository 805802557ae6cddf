/** When the attachments step of a chunk has work: the estates step reports it, and the workflow leaves an idle step out. */
import { describe, expect, it } from 'vitest';
import { needsAttachmentStep } from '../../activities/attachments';

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
