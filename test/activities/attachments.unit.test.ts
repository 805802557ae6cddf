/** The attachments step's reading of a picture inside a ZIP (activities/attachments.ts). */
import { describe, expect, it } from 'vitest';
import { readZipPicture } from '../../activities/attachments';
import { openTransfer } from '../../openimmo/reader';
import { craftZip, withTempDir, writeTemp } from '../openimmo/helpers';

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
