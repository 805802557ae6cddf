import { describe, expect, it } from 'vitest';
import { createAttachmentIndex, describeCandidates, isXmlEntryName, looksLikeZip, openZip, unsafeEntryName } from '../../openimmo/zip';
import { openTransfer, readTransferBuffer } from '../../openimmo/reader';
import { caught, craftZip, immobilie, objectsOf, transfer, withTempDir, writeTemp } from './helpers';
import { zipOf, type ZipEntry } from '../support/zip';

const MiB = 1024 * 1024;
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

const xmlWithAttachments = transfer([
  immobilie({
    id: '1004',
    body: `<anhaenge>
      <anhang gruppe="titelbild"><anhangtitel>Außen</anhangtitel><format>png</format><daten><pfad>bilder/aussen.png</pfad></daten></anhang>
      <anhang gruppe="GRUNDRISS"><daten><pfad>bilder\\Grundriss%204OG.PNG</pfad></daten></anhang>
      <anhang gruppe="BILD"><daten><pfad>fehlt.png</pfad></daten></anhang>
      <anhang gruppe="BILD"><daten><pfad>https://example.org/a.jpg</pfad></daten></anhang>
    </anhaenge>`,
  }),
]);

describe('a valid ZIP transfer', () => {
  it('finds the one XML in a nested folder and resolves attachments relative to it', async () => {
    const zip = await zipOf([
      { name: 'export/' },
      { name: 'export/openimmo.xml', data: xmlWithAttachments },
      { name: 'export/bilder/aussen.png', data: PNG },
      { name: 'export/bilder/Grundriss 4OG.png', data: PNG, stored: true },
      { name: '__MACOSX/export/._openimmo.xml', data: 'resource fork' },
      { name: 'export/.DS_Store', data: 'x' },
    ]);
    const z = await openZip(zip);
    try {
      expect(z.xmlEntryName).toBe('export/openimmo.xml');
      expect(z.attachments.resolve('bilder/aussen.png')).toBe('export/bilder/aussen.png');
      expect(z.attachments.resolve('BILDER/AUSSEN.PNG')).toBe('export/bilder/aussen.png');
      expect(z.attachments.resolve('bilder\\Grundriss%204OG.PNG')).toBe('export/bilder/Grundriss 4OG.png');
      expect(z.attachments.resolve('./bilder/aussen.png')).toBe('export/bilder/aussen.png');
      expect(z.attachments.resolve('aussen.png')).toBe('export/bilder/aussen.png'); // anywhere in the ZIP
      expect(z.attachments.resolve('export/bilder/aussen.png')).toBe('export/bilder/aussen.png'); // from the root
      expect(z.attachments.resolve('fehlt.png')).toBeNull();
      expect(z.attachments.resolve('../../etc/passwd')).toBeNull();
      expect(await z.readEntry('export/bilder/aussen.png')).toEqual(PNG);
      expect(await z.readEntry('export/bilder/Grundriss 4OG.png')).toEqual(PNG);
    } finally {
      z.close();
    }
  });

  it('the reader sets the resolved entry on path attachments and warns about missing files', async () => {
    const zip = await zipOf([
      { name: 'export/openimmo.xml', data: xmlWithAttachments },
      { name: 'export/bilder/aussen.png', data: PNG },
      { name: 'export/bilder/Grundriss 4OG.png', data: PNG },
    ]);
    const [o] = objectsOf(await readTransferBuffer(zip));
    expect(o!.attachments.map((a) => a.source)).toEqual([
      { kind: 'path', path: 'bilder/aussen.png', entry: 'export/bilder/aussen.png' },
      { kind: 'path', path: 'bilder\\Grundriss%204OG.PNG', entry: 'export/bilder/Grundriss 4OG.png' },
      { kind: 'path', path: 'fehlt.png' },
      { kind: 'url', url: 'https://example.org/a.jpg' },
    ]);
    expect(o!.attachments[0]!.group).toBe('TITELBILD');
    expect(o!.warnings).toEqual(['anhaenge/anhang[3]: file "fehlt.png" not found in the ZIP']);
  });

  it('two pictures under one name (or names differing only in case): the object is warned, naming the entries; the first is used', async () => {
    const JPG1 = Buffer.from('first picture');
    const JPG2 = Buffer.from('second picture');
    const xml = transfer([
      immobilie({
        id: '1005',
        body: `<anhaenge>
          <anhang gruppe="BILD"><daten><pfad>bilder/a.jpg</pfad></daten></anhang>
          <anhang gruppe="BILD"><daten><pfad>bilder/b.jpg</pfad></daten></anhang>
          <anhang gruppe="BILD"><daten><pfad>bilder/c.jpg</pfad></daten></anhang>
        </anhaenge>`,
      }),
    ]);
    const zip = await zipOf([
      { name: 'openimmo.xml', data: xml },
      { name: 'bilder/a.jpg', data: JPG1 },
      { name: 'bilder/a.jpg', data: JPG2 },
      { name: 'bilder/B.jpg', data: JPG1 },
      { name: 'Bilder/b.JPG', data: JPG2 },
      { name: 'bilder/c.jpg', data: JPG1 },
    ]);
    await withTempDir(async (dir) => {
      const t = await openTransfer(writeTemp(dir, 'transfer.zip', zip));
      try {
        const objects = [];
        for await (const e of t.events()) if (e.type === 'object') objects.push(e.object);
        const [o] = objects;
        expect(o!.attachments.map((a) => (a.source as { entry?: string }).entry)).toEqual(['bilder/a.jpg', 'bilder/B.jpg', 'bilder/c.jpg']);
        expect(o!.warnings).toEqual([
          'anhaenge/anhang[1]: file "bilder/a.jpg" matches 2 entries in the ZIP ("bilder/a.jpg" twice); the first in the archive is used',
          'anhaenge/anhang[2]: file "bilder/b.jpg" matches 2 entries in the ZIP ("bilder/B.jpg", "Bilder/b.JPG"); the first in the archive is used',
        ]);
        // "The first" is the first in the archive, and that is what is read.
        expect(await t.attachments!.read('bilder/a.jpg')).toEqual(JPG1);
      } finally {
        await t.close();
      }
    });
  });

  it('openTransfer detects a ZIP by its magic bytes, whatever the name', async () => {
    await withTempDir(async (dir) => {
      const p = writeTemp(
        dir,
        'transfer.xml',
        await zipOf([
          { name: 'a.xml', data: transfer([immobilie({ id: '1' })]) },
          { name: 'b.png', data: PNG },
        ]),
      );
      const t = await openTransfer(p);
      try {
        expect(t.kind).toBe('zip');
        expect(t.xmlEntryName).toBe('a.xml');
        const objects = [];
        for await (const e of t.events()) if (e.type === 'object') objects.push(e.object);
        expect(objects.map((o) => o.sourceId)).toEqual(['1']);
        expect(t.attachments!.resolve('B.PNG')).toBe('b.png');
        expect(await t.attachments!.read('b.png')).toEqual(PNG);
      } finally {
        await t.close();
      }
    });
  });

  it('a Latin-1-declared XML that is really UTF-8 is read as UTF-8 inside a ZIP too (the entry is read twice)', async () => {
    const xml = transfer([immobilie({ id: '1', body: '<geo><ort>Lüdenscheid – Köln</ort></geo>' })]).replace('encoding="UTF-8"', 'encoding="ISO-8859-1"');
    const [o] = objectsOf(await readTransferBuffer(await zipOf([{ name: 'x.xml', data: Buffer.from(xml, 'utf8') }])));
    expect(o!.estate.city).toBe('Lüdenscheid – Köln');
  });

  it('looksLikeZip', () => {
    expect(looksLikeZip(Buffer.from('PK\x03\x04'))).toBe(true);
    expect(looksLikeZip(Buffer.from('PK\x05\x06'))).toBe(true);
    expect(looksLikeZip(Buffer.from('<?xm'))).toBe(false);
  });
});

describe('rejected ZIPs (ZipRejected, naming the entry)', () => {
  /** Well-formed archives that break a rule come from zipOf; malformed ones (`..`, absolute names, a fake encryption flag) from craftZip. */
  async function rejection(zip: Buffer | Promise<Buffer>, limits?: Parameters<typeof openZip>[1]) {
    const err = await caught(openZip(await zip, limits));
    expect(err.type).toBe('ZipRejected');
    return err;
  }

  it('no XML', async () => {
    const err = await rejection(
      zipOf([
        { name: 'bild.png', data: PNG },
        { name: '__MACOSX/._x.xml', data: 'x' },
      ]),
    );
    expect(err.message).toMatch(/no XML/);
  });

  it('two XMLs', async () => {
    const err = await rejection(
      zipOf([
        { name: 'a/openimmo.xml', data: '<openimmo/>' },
        { name: 'b/OTHER.XML', data: '<openimmo/>' },
      ]),
    );
    expect(err.message).toContain('"a/openimmo.xml"');
    expect(err.message).toContain('"b/OTHER.XML"');
  });

  it('a ../ entry', async () => {
    const err = await rejection(
      craftZip([
        { name: 'openimmo.xml', data: '<openimmo/>' },
        { name: 'bilder/../../evil.sh', data: 'x' },
      ]),
    );
    expect(err.message).toContain('"bilder/../../evil.sh"');
    expect(err.detail).toMatchObject({ entry: 'bilder/../../evil.sh' });
  });

  it('a ..\\ entry (Windows separators)', async () => {
    const err = await rejection(
      craftZip([
        { name: 'openimmo.xml', data: '<openimmo/>' },
        { name: '..\\evil.sh', data: 'x' },
      ]),
    );
    expect(err.message).toContain('../evil.sh');
  });

  it('an absolute path', async () => {
    const err = await rejection(
      craftZip([
        { name: '/etc/cron.d/evil', data: 'x' },
        { name: 'openimmo.xml', data: '<openimmo/>' },
      ]),
    );
    expect(err.message).toContain('"/etc/cron.d/evil"');
    expect(err.message).toContain('absolute path');
  });

  it('a drive letter', async () => {
    const err = await rejection(
      craftZip([
        { name: 'C:/Windows/evil.dll', data: 'x' },
        { name: 'openimmo.xml', data: '<openimmo/>' },
      ]),
    );
    expect(err.message).toContain('drive letter');
  });

  it('a symlink', async () => {
    const err = await rejection(
      zipOf([
        { name: 'openimmo.xml', data: '<openimmo/>' },
        { name: 'bilder/link.png', data: '/etc/passwd', mode: 0o120777 },
      ]),
    );
    expect(err.message).toContain('"bilder/link.png"');
    expect(err.message).toContain('symbolic link');
  });

  it('an encrypted entry', async () => {
    const err = await rejection(craftZip([{ name: 'openimmo.xml', data: '<openimmo/>', encrypted: true }]));
    expect(err.message).toContain('encrypted');
  });

  it('a zip bomb by ratio (2 MiB of zeros → a few KiB)', async () => {
    const err = await rejection(
      zipOf([
        { name: 'openimmo.xml', data: '<openimmo/>' },
        { name: 'bomb.png', data: Buffer.alloc(2 * MiB) },
      ]),
    );
    expect(err.message).toContain('"bomb.png"');
    expect(err.message).toContain('compression ratio');
  });

  it('small, very compressible entries are fine (ratio applies above 1 MiB)', async () => {
    const xml = `<openimmo>${' '.repeat(500_000)}</openimmo>`;
    const z = await openZip(await zipOf([{ name: 'openimmo.xml', data: xml }]));
    try {
      expect(z.xmlEntryName).toBe('openimmo.xml');
      // The whole entry inflates: the ratio (~1000:1) is not held against it.
      expect((await z.readEntry('openimmo.xml')).toString('utf8')).toBe(xml);
    } finally {
      z.close();
    }
  });

  it('a bomb that lies in its headers is stopped while streaming', async () => {
    // Declares 1,000 bytes, inflates to 2 MiB: the headers pass, the stream must not. Lying headers: crafted.
    const zip = craftZip([
      { name: 'openimmo.xml', data: '<openimmo/>' },
      { name: 'liar.png', data: Buffer.alloc(2 * MiB), declaredSize: 1000 },
    ]);
    const z = await openZip(zip);
    try {
      const err = await caught(z.readEntry('liar.png'));
      expect(err.type).toBe('ZipRejected');
      expect(err.message).toContain('"liar.png"');
    } finally {
      z.close();
    }
  });

  it('a picture entry that lies about its size is rejected as it inflates, naming the entry and the size it declares', async () => {
    // Declares 10 KiB, inflates to 3 MiB (more), or to 5,000 bytes (fewer). Lying headers: crafted.
    const zip = craftZip([
      { name: 'openimmo.xml', data: '<openimmo/>' },
      { name: 'bilder/liar.jpg', data: Buffer.from(Array.from({ length: 3 * MiB }, (_, i) => (i * 7919) % 251)), declaredSize: 10_240 },
      { name: 'bilder/short.jpg', data: Buffer.alloc(5000, 1), declaredSize: 10_240 },
    ]);
    const z = await openZip(zip);
    try {
      const more = await caught(z.readEntry('bilder/liar.jpg'));
      expect([more.type, more.message]).toEqual([
        'ZipRejected',
        'ZIP entry "bilder/liar.jpg" is rejected: it inflates to more than the 10240 bytes its header declares',
      ]);
      expect(more.detail).toEqual({ entry: 'bilder/liar.jpg', declared: 10_240 });
      const fewer = await caught(z.readEntry('bilder/short.jpg'));
      expect([fewer.type, fewer.message]).toEqual([
        'ZipRejected',
        'ZIP entry "bilder/short.jpg" is rejected: it inflates to 5000 bytes, fewer than the 10240 its header declares',
      ]);
    } finally {
      z.close();
    }
  });

  it('per-entry limit while streaming (headers within the limit, content beyond)', async () => {
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251)); // incompressible-ish
    // Lying headers: crafted.
    const zip = craftZip([
      { name: 'openimmo.xml', data: '<openimmo/>' },
      { name: 'big.jpg', data, declaredSize: 1000 },
    ]);
    const z = await openZip(zip, { maxAttachmentBytes: 100_000 });
    try {
      const err = await caught(z.readEntry('big.jpg'));
      expect(err.type).toBe('ZipRejected');
      expect(err.message).toContain('"big.jpg"');
    } finally {
      z.close();
    }
  });

  it('per-entry limit by header', async () => {
    const err = await rejection(zipOf([{ name: 'openimmo.xml', data: 'x'.repeat(5000) }]), { maxXmlBytes: 1000 });
    expect(err.message).toContain('"openimmo.xml"');
    expect(err.detail).toMatchObject({ limit: 1000 });
  });

  it('total uncompressed size', async () => {
    const err = await rejection(
      zipOf([
        { name: 'openimmo.xml', data: '<openimmo/>' },
        { name: 'a.bin', data: Buffer.alloc(600) },
        { name: 'b.bin', data: Buffer.alloc(600) },
      ]),
      { maxTotalBytes: 1000 },
    );
    expect(err.message).toContain('"b.bin"');
  });

  it('too many entries (default limit 10,000)', async () => {
    const entries: ZipEntry[] = [{ name: 'openimmo.xml', data: '<openimmo/>' }];
    for (let i = 0; i < 10_000; i++) entries.push({ name: `bilder/${i}.png`, data: '', stored: true });
    const err = await rejection(zipOf(entries));
    expect(err.message).toMatch(/10001 entries, more than the limit of 10000/);
  });

  it('not a ZIP at all', async () => {
    const err = await caught(openZip(Buffer.from('PK\x03\x04 garbage')));
    expect(err.type).toBe('ZipRejected');
  });

  it('the reader reports ZIP rejections as they are', async () => {
    const err = await caught(readTransferBuffer(await zipOf([{ name: 'bild.png', data: PNG }])));
    expect(err.type).toBe('ZipRejected');
  });
});

describe('entry names (pure)', () => {
  it('unsafe names', () => {
    expect(unsafeEntryName('a/b.png')).toBeNull();
    expect(unsafeEntryName('a/..b.png')).toBeNull();
    expect(unsafeEntryName('../x')).not.toBeNull();
    expect(unsafeEntryName('/x')).not.toBeNull();
    expect(unsafeEntryName('c:x')).not.toBeNull();
    expect(unsafeEntryName('a\0b')).not.toBeNull();
  });

  it('which entries count as the XML', () => {
    expect(isXmlEntryName('export/OpenImmo.XML')).toBe(true);
    expect(isXmlEntryName('__MACOSX/export/._openimmo.xml')).toBe(false);
    expect(isXmlEntryName('export/.hidden.xml')).toBe(false);
    expect(isXmlEntryName('.git/config.xml')).toBe(false);
    expect(isXmlEntryName('export/xml/')).toBe(false);
  });

  it('attachment index: XML folder first, then root, then anywhere', () => {
    const idx = createAttachmentIndex(['a/x.xml', 'bild.png', 'a/bild.png', 'z/deep/bild.png', 'b/only.png'], 'a/x.xml');
    expect(idx.resolve('bild.png')).toBe('a/bild.png');
    expect(idx.resolve('/bild.png')).toBe('a/bild.png');
    expect(idx.resolve('deep/bild.png')).toBe('z/deep/bild.png');
    expect(idx.resolve('only.png')).toBe('b/only.png');
    expect(idx.resolve('file:///only.png')).toBe('b/only.png');
    expect(idx.resolve('x.xml')).toBeNull(); // the XML itself is not an attachment
    expect(idx.resolve('')).toBeNull();
  });

  it('ambiguous paths: every entry of the deciding step is a candidate, the first in the archive wins', () => {
    const idx = createAttachmentIndex(
      ['t.xml', 'bilder/a.jpg', 'bilder/a.jpg', 'Bilder/B.JPG', 'bilder/b.jpg', 'x/c.png', 'y/c.png', 'd.png', 'z/d.png'],
      't.xml',
    );
    expect(idx.candidates('bilder/a.jpg')).toEqual(['bilder/a.jpg', 'bilder/a.jpg']); // the same name twice
    expect(idx.candidates('bilder/b.jpg')).toEqual(['Bilder/B.JPG', 'bilder/b.jpg']); // differing only in case
    expect(idx.resolve('bilder/b.jpg')).toBe('Bilder/B.JPG');
    expect(idx.candidates('c.png')).toEqual(['x/c.png', 'y/c.png']); // two folders end in the path
    expect(idx.candidates('d.png')).toEqual(['d.png']); // the root match decides before any suffix
    expect(idx.candidates('fehlt.png')).toEqual([]);
    expect(describeCandidates(['bilder/a.jpg', 'bilder/a.jpg'])).toBe('"bilder/a.jpg" twice');
    expect(describeCandidates(['A.jpg', 'a.jpg', 'a.JPG', 'a.JPG', 'a.JPG'])).toBe('"A.jpg", "a.jpg", "a.JPG" 3 times');
  });

  it('a literal % in a file name still resolves', () => {
    const idx = createAttachmentIndex(['t.xml', '100%.png'], 't.xml');
    expect(idx.resolve('100%.png')).toBe('100%.png');
    expect(idx.resolve('100%25.png')).toBe('100%.png');
  });
});
