/** When the attachments step of a chunk has work: the estates step reports it, and the workflow leaves an idle step out. */
import { describe, expect, it } from 'vitest';
import { needsAttachmentStep, readZipPicture } from '../../activities/attachments';
import { openTransfer } from '../../openimmo/reader';
import { craftZip, withTempDir, writeTemp } from '../openimmo/helpers';

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

describe('readZipPicture: a picture inside the ZIP, or why it is skipped', () => {
  it('an entry that lies about its size is skipped with the reason (no error to retry); an honest one is read', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    // The header declares 10 KiB; the entry inflates to 3 MiB. Lying headers: crafted.
    const zip = craftZip([
      { name: 'openimmo.xml', data: '<openimmo/>' },
      { name: 'bilder/aussen.jpg', data: Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 7919) % 251)), declaredSize: 10_240 },
      { name: 'bilder/kueche.png', data: png },
    ]);
    await withTempDir(async (dir) => {
      const opened = await openTransfer(writeTemp(dir, 'transfer.zip', zip));
      try {
        expect(await readZipPicture(opened.attachments!, 'bilder/aussen.jpg')).toEqual({
          skipped: 'ZIP entry "bilder/aussen.jpg" is rejected: it inflates to more than the 10240 bytes its header declares',
        });
        expect(await readZipPicture(opened.attachments!, 'bilder/kueche.png')).toEqual({ bytes: png });
      } finally {
        await opened.close();
      }
    });
  });
});
