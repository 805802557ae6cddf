import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTransfer, parseTextChunks, readTransferBuffer } from '../../openimmo/reader';
import type { XmlElement } from '../../openimmo/types';
import { caught, immobilie, objectsOf, read, readObjects, transfer, withTempDir, writeTemp } from './helpers';
import { zipOf } from '../support/zip';

const FIXTURES = resolve(__dirname, '../fixtures/openimmo');
const fixture = (name: string): Buffer => readFileSync(resolve(FIXTURES, name));

describe('namespaces and prefixes: elements are matched by local name', () => {
  it('old default namespace http://www.openimmo.de, and xmlns="" on a child', async () => {
    const events = await read(fixture('old-namespace.xml'));
    expect(events.map((e) => e.type)).toEqual(['header', 'object', 'provider']);
    const [o] = objectsOf(events);
    expect(o!.sourceId).toBe('OLD-1');
    expect(o!.estate.city).toBe('Berlin');
    expect(o!.estate.zip).toBe('10115');
    const provider = events[2]!.type === 'provider' ? events[2].provider : null;
    expect(provider?.openimmoAnid).toBe('OLD');
  });

  it('prefixed elements and attributes', async () => {
    const events = await read(fixture('prefixed.xml'));
    const header = events[0]!.type === 'header' ? events[0].header : null;
    expect(header?.umfang).toBe('VOLL');
    const [o] = objectsOf(events);
    expect(o!.sourceId).toBe('P-1');
    expect(o!.action).toBe('DELETE');
    expect(o!.estate.city).toBe('Bonn');
    expect(o!.estate.country).toBe('DEU');
    // The prefix is kept in raw so an export could reproduce it; names are local.
    expect(o!.raw.name).toBe('immobilie');
    expect(o!.raw.prefix).toBe('oi');
  });
});

describe('text: CDATA, HTML, mixed content', () => {
  it('CDATA and escaped HTML are text; markup written as elements is kept as markup', async () => {
    const [o] = await readObjects(fixture('full-object.xml'));
    expect(o!.estate.title).toBe('Reihenendhaus <mit> Garten & Garage');
    expect(o!.estate.locationText).toBe('Ruhig & zentral');
    expect(o!.estate.description).toBe('Helles Haus.<br/>Mit <b>großem</b> Garten.');
  });

  it('mixed content is kept in raw as written; whitespace-only text between elements is dropped', async () => {
    const xml = transfer([
      immobilie({
        id: '1',
        body: `<freitexte>
          <objektbeschreibung>Erste Zeile <b>fett</b> <i>kursiv</i> Ende</objektbeschreibung>
          <lage>  A<![CDATA[ & B ]]>C  </lage>
          <dreizeiler>   </dreizeiler>
        </freitexte>`,
      }),
    ]);
    const [o] = await readObjects(xml);
    const freitexte = o!.raw.children!.find((c): c is XmlElement => typeof c !== 'string' && c.name === 'freitexte')!;
    expect(freitexte.children).toEqual([
      {
        name: 'objektbeschreibung',
        children: ['Erste Zeile ', { name: 'b', children: ['fett'] }, ' ', { name: 'i', children: ['kursiv'] }, ' Ende'],
      },
      { name: 'lage', children: ['  A & B C  '] },
      { name: 'dreizeiler' },
    ]);
    expect(o!.estate.locationText).toBe('A & B C');
  });

  it('comments and processing instructions inside objects are skipped, text around them joined', async () => {
    const [o] = await readObjects(transfer([immobilie({ id: '1', body: '<geo><ort>Kö<!-- x -->ln<?pi x?></ort></geo>' })]));
    expect(o!.estate.city).toBe('Köln');
  });

  it('blank lines and a second BOM before the XML declaration are tolerated', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`\uFEFF\n\n  ${transfer([immobilie({ id: '1' })])}`, 'utf8')]);
    for (const chunkSize of [1, 4096]) {
      const [o] = await readObjects(bytes, { chunkSize });
      expect(o!.sourceId).toBe('1');
    }
  });

  it('predefined and numeric entities decode', async () => {
    const [o] = await readObjects(transfer([immobilie({ id: '1', body: '<geo><ort>A &amp; B &#8211; C &#x20AC; &lt;&gt;&quot;&apos;</ort></geo>' })]));
    expect(o!.estate.city).toBe('A & B – C € <>"\'');
  });
});

describe('rejected files', () => {
  it('a DOCTYPE (billion laughs) is rejected before anything is parsed', async () => {
    const err = await caught(read(fixture('billion-laughs.xml')));
    expect(err.type).toBe('MalformedXml');
    expect(err.message).toMatch(/DTDs and custom entities are not accepted/);
    expect(err.message).toMatch(/line \d+, column \d+/);
  });

  it('an external entity is rejected (nothing is read from disk)', async () => {
    const err = await caught(read(fixture('external-entity.xml')));
    expect(err.type).toBe('MalformedXml');
    expect(err.message).toMatch(/DTD/);
    expect(err.message).not.toContain('root:');
  });

  it('a DOCTYPE split across chunks is still caught', async () => {
    for (const chunkSize of [1, 3, 7, 50]) {
      const err = await caught(read(fixture('external-entity.xml'), { chunkSize }));
      expect(err.type).toBe('MalformedXml');
      expect(err.message).toMatch(/DTD/);
    }
  });

  it('an undefined entity is MalformedXml', async () => {
    const err = await caught(read(transfer([immobilie({ id: '1', body: '<geo><ort>&nbsp;</ort></geo>' })])));
    expect(err.type).toBe('MalformedXml');
    expect(err.message).toMatch(/entity/);
    expect(err.detail).toMatchObject({ line: expect.any(Number), column: expect.any(Number) });
  });

  it('a truncated file is MalformedXml with line and column', async () => {
    const err = await caught(read(fixture('truncated.xml')));
    expect(err.type).toBe('MalformedXml');
    expect(err.message).toMatch(/line \d+, column \d+/);
  });

  it.each([
    ['binary garbage', Buffer.from([0x00, 0xff, 0x13, 0x37, 0x80, 0x81, 0x00, 0x42, 0x99])],
    ['JSON', Buffer.from('{"openimmo": true}')],
    ['an empty file', Buffer.alloc(0)],
    ['text', Buffer.from('hello world')],
    ['two roots', Buffer.from('<openimmo/><openimmo/>')],
    ['a mismatched close tag', Buffer.from('<openimmo><anbieter></immobilie></openimmo>')],
  ])('%s is MalformedXml', async (_name, bytes) => {
    const err = await caught(read(bytes));
    expect(err.type).toBe('MalformedXml');
  });

  it('a well-formed XML that is not OpenImmo is NotOpenImmo', async () => {
    const err = await caught(read(fixture('not-openimmo.xml')));
    expect(err.type).toBe('NotOpenImmo');
    expect(err.message).toContain('<rss>');
  });

  it('objects before a syntax error are yielded, then the error is thrown', async () => {
    const xml = transfer([immobilie({ id: '1' }), immobilie({ id: '2' })]).replace('</anbieter>', '</anbietr>');
    await withTempDir(async (dir) => {
      const t = await openTransfer(writeTemp(dir, 't.xml', xml));
      const seen: (string | null)[] = [];
      const err = await caught(
        (async () => {
          for await (const e of t.events()) if (e.type === 'object') seen.push(e.object.sourceId);
        })(),
      );
      await t.close();
      expect(seen).toEqual(['1', '2']);
      expect(err.type).toBe('MalformedXml');
      expect(err.message).toMatch(/^Malformed XML at line 23, column \d+: /);
    });
  });
});

describe('structure and events', () => {
  it('events in document order: header, objects, provider when the anbieter closes', async () => {
    const xml = transfer([immobilie({ id: '1' }), immobilie({ id: '2' })], {
      anbieterAfter: `<openimmo_anid>LATE</openimmo_anid>
        <firma>Spät GmbH</firma>
        <user_defined_simplefield feldname="onoffice_benutzer">anbieteruser</user_defined_simplefield>`,
    });
    const events = await read(xml);
    expect(events.map((e) => (e.type === 'object' ? `object:${e.object.sourceId}` : e.type))).toEqual(['header', 'object:1', 'object:2', 'provider']);
    const provider = events[3]!.type === 'provider' ? events[3].provider : null;
    expect(provider).toMatchObject({ index: 0, anbieternr: 'IMV', firma: 'Spät GmbH', openimmoAnid: 'LATE', user: 'anbieteruser' });
    expect(provider!.userFields).toEqual([{ section: 'anbieter', kind: 'simplefield', name: 'onoffice_benutzer', value: 'anbieteruser' }]);
  });

  it('several anbieter: objects carry their providerIndex; positions count across the file', async () => {
    const xml = `<openimmo>
      <anbieter><firma>A</firma>${immobilie({ id: 'a1' })}</anbieter>
      <anbieter><firma>B</firma>${immobilie({ id: 'b1' })}${immobilie({ id: 'b2' })}</anbieter>
    </openimmo>`;
    const events = await read(xml);
    expect(events.map((e) => e.type)).toEqual(['object', 'provider', 'object', 'object', 'provider']);
    expect(objectsOf(events).map((o) => [o.sourceId, o.position, o.providerIndex])).toEqual([
      ['a1', 0, 0],
      ['b1', 1, 1],
      ['b2', 2, 1],
    ]);
  });

  it('no uebertragung → no header event (innobrain sample shape)', async () => {
    const events = await read(`<openimmo><anbieter>${immobilie({ id: '1' })}</anbieter></openimmo>`);
    expect(events.map((e) => e.type)).toEqual(['object', 'provider']);
  });

  it('header values are normalized', async () => {
    const events = await read(fixture('full-object.xml'));
    expect(events[0]).toEqual({
      type: 'header',
      header: {
        version: '1.2.7',
        umfang: 'VOLL',
        modus: 'CHANGE',
        sendersoftware: 'IMV online',
        timestamp: '2026-11-20T09:15:00.123Z',
        attrs: {
          art: 'ONLINE',
          umfang: 'voll',
          modus: 'CHANGE',
          version: '1.2.7',
          sendersoftware: 'IMV online',
          timestamp: '2026-11-20T09:15:00.123456',
        },
      },
    });
  });

  it.each([
    ['DELETE', 'DELETE'],
    ['delete', 'DELETE'],
    ['Delete', 'DELETE'],
    ['REFERENZ', 'REFERENZ'],
    ['referenz', 'REFERENZ'],
    ['CHANGE', 'UPSERT'],
    ['change', 'UPSERT'],
    ['', 'UPSERT'],
  ])('aktionart %j → %s', async (aktion, expected) => {
    const [o] = await readObjects(transfer([immobilie({ id: '1', aktion })]));
    expect(o!.action).toBe(expected);
    expect(o!.warnings).toEqual([]);
  });

  it('no aktion element, or <aktion/> → UPSERT; unknown aktionart → UPSERT with a warning', async () => {
    const objects = await readObjects(transfer([immobilie({ id: '1', aktion: null }), immobilie({ id: '2' }), immobilie({ id: '3', aktion: 'ARCHIV' })]));
    expect(objects.map((o) => o.action)).toEqual(['UPSERT', 'UPSERT', 'UPSERT']);
    expect(objects[2]!.warnings).toEqual(['verwaltung_techn/aktion/@aktionart: unknown value "ARCHIV", treated as CHANGE']);
  });

  it('the same object twice in a file (CHANGE then DELETE) stays two events in order', async () => {
    const objects = await readObjects(transfer([immobilie({ id: '9', aktion: 'CHANGE' }), immobilie({ id: '9', aktion: 'DELETE' })]));
    expect(objects.map((o) => [o.sourceId, o.action])).toEqual([
      ['9', 'UPSERT'],
      ['9', 'DELETE'],
    ]);
  });

  it('ids: objektnr_extern, else openimmo_obid; empty counts as missing; IMVO-ID- is stripped', async () => {
    const objects = await readObjects(
      transfer([
        '<immobilie><verwaltung_techn><objektnr_extern>  77 </objektnr_extern></verwaltung_techn></immobilie>',
        '<immobilie><verwaltung_techn><objektnr_extern></objektnr_extern><openimmo_obid>OB-1</openimmo_obid></verwaltung_techn></immobilie>',
        '<immobilie><verwaltung_techn><objektnr_extern> </objektnr_extern><openimmo_obid/></verwaltung_techn></immobilie>',
        '<immobilie><verwaltung_techn><objektnr_extern>IMVO-ID-1001</objektnr_extern></verwaltung_techn></immobilie>',
        '<immobilie><verwaltung_techn><objektnr_extern>IMVO-ID-</objektnr_extern><openimmo_obid>X</openimmo_obid></verwaltung_techn></immobilie>',
        '<immobilie><geo><ort>ohne Verwaltung</ort></geo></immobilie>',
        '<immobilie/>',
      ]),
    );
    expect(objects.map((o) => o.sourceId)).toEqual(['77', 'OB-1', null, '1001', 'X', null, null]);
    expect(objects[1]!.openimmoObid).toBe('OB-1');
    expect(objects[2]!.warnings[0]).toMatch(/no object id/);
    expect(objects[6]!.raw).toEqual({ name: 'immobilie' });
  });

  it('user: user_defined_simplefield onoffice_benutzer directly on the immobilie only', async () => {
    const objects = await readObjects(
      transfer([
        immobilie({ id: '1', user: 'skoch' }),
        immobilie({ id: '2', body: '<preise><user_defined_simplefield feldname="onoffice_benutzer">nested</user_defined_simplefield></preise>' }),
        immobilie({ id: '3', user: '' }),
      ]),
    );
    expect(objects.map((o) => o.user)).toEqual(['skoch', null, null]);
    expect(objects[1]!.userFields).toEqual([{ section: 'preise', kind: 'simplefield', name: 'onoffice_benutzer', value: 'nested' }]);
  });

  it('raw is the whole immobilie, lossless (attributes by local name, document order)', async () => {
    const [o] = await readObjects(
      transfer([
        '<immobilie><unbekannt a="1" xsi:b="2">x</unbekannt><geo><plz>1</plz></geo><verwaltung_techn><objektnr_extern>5</objektnr_extern></verwaltung_techn></immobilie>',
      ]),
    );
    expect(o!.raw).toEqual({
      name: 'immobilie',
      children: [
        { name: 'unbekannt', attrs: { a: '1', b: '2' }, children: ['x'] },
        { name: 'geo', children: [{ name: 'plz', children: ['1'] }] },
        { name: 'verwaltung_techn', children: [{ name: 'objektnr_extern', children: ['5'] }] },
      ],
    });
    expect(JSON.parse(JSON.stringify(o!.raw))).toEqual(o!.raw);
  });

  it('odd attribute names stay data, never touch prototypes', async () => {
    const [o] = await readObjects(
      transfer([
        '<immobilie><x __proto__="p" constructor="c" toString="t"/><verwaltung_techn><objektnr_extern>1</objektnr_extern></verwaltung_techn></immobilie>',
      ]),
    );
    const x = o!.raw.children![0] as XmlElement;
    expect(Object.keys(x.attrs!)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(x.attrs!['constructor']).toBe('c');
    expect(Object.getPrototypeOf(x.attrs)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(x.attrs))).toEqual({ ['__proto__']: 'p', constructor: 'c', toString: 't' });
  });

  it('the events do not depend on how the input is chunked', async () => {
    const bytes = fixture('full-object.xml');
    const reference = JSON.stringify(await readTransferBuffer(bytes));
    for (const chunkSize of [1, 2, 3, 17, 4096]) {
      expect(JSON.stringify(await readTransferBuffer(bytes, { chunkSize }))).toBe(reference);
    }
  });
});

describe('streaming', () => {
  it('yields an object as soon as it closes, before later input is read', async () => {
    let chunksRead = 0;
    const parts = ['<openimmo><anbieter>', immobilie({ id: '1' }), immobilie({ id: '2' }), '</anbieter></openimmo>'];
    async function* chunks() {
      for (const p of parts) {
        chunksRead++;
        yield p;
      }
    }
    const it = parseTextChunks(chunks())[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value).toMatchObject({ type: 'object', object: { sourceId: '1' } });
    expect(chunksRead).toBe(2);
    await it.return?.(undefined);
  });

  it('openTransfer reads a file again on each events() call', async () => {
    await withTempDir(async (dir) => {
      const t = await openTransfer(writeTemp(dir, 'x.bin', transfer([immobilie({ id: '1' })])));
      expect(t.kind).toBe('xml');
      expect(t.xmlEntryName).toBeNull();
      expect(t.attachments).toBeNull();
      for (let i = 0; i < 2; i++) {
        const ids: (string | null)[] = [];
        for await (const e of t.events()) if (e.type === 'object') ids.push(e.object.sourceId);
        expect(ids).toEqual(['1']);
      }
      expect(t.encoding).toMatchObject({ encoding: 'utf-8' });
      await t.close();
    });
  });

  it('stopping early is fine (the file stream is released)', async () => {
    await withTempDir(async (dir) => {
      const file = writeTemp(dir, 'x.xml', transfer(Array.from({ length: 200 }, (_, i) => immobilie({ id: String(i) }))));
      // The process's open descriptors on the file (Linux: /proc/self/fd).
      const openOnFile = () =>
        readdirSync('/proc/self/fd').filter((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`) === file;
          } catch {
            return false;
          }
        }).length;
      const t = await openTransfer(file, { chunkSize: 64 });
      let first: string | null = null;
      for await (const e of t.events())
        if (e.type === 'object') {
          first = e.object.sourceId;
          break;
        }
      expect(first).toBe('0');
      await t.close();
      expect(openOnFile()).toBe(0);
    });
  });
});

describe('limits (TooLarge)', () => {
  it('an object larger than maxObjectBytes', async () => {
    const big = immobilie({ id: '1', body: `<freitexte>${'<lage>abc</lage>'.repeat(2000)}</freitexte>` });
    const err = await caught(read(transfer([big]), { maxObjectBytes: 10_000 }));
    expect(err.type).toBe('TooLarge');
    expect(err.message).toMatch(/Object 1/);
  });

  it('an object larger than maxObjectBytes within a single text node, streamed in chunks', async () => {
    const big = immobilie({ id: '1', body: `<freitexte><lage>${'x'.repeat(200_000)}</lage></freitexte>` });
    const err = await caught(read(transfer([big]), { maxObjectBytes: 50_000, maxFieldLength: 1_000_000, chunkSize: 8192 }));
    expect(err.type).toBe('TooLarge');
  });

  it('a field longer than maxFieldLength', async () => {
    const err = await caught(
      read(transfer([immobilie({ id: '1', body: `<freitexte><lage>${'x'.repeat(5000)}</lage></freitexte>` })]), { maxFieldLength: 1000 }),
    );
    expect(err.type).toBe('TooLarge');
    expect(err.message).toContain('<lage>');
  });

  it('inline attachments are bounded by the object limit, not the field limit', async () => {
    const b64 = Buffer.alloc(3000, 7).toString('base64');
    const [o] = await readObjects(
      transfer([immobilie({ id: '1', body: `<anhaenge><anhang><daten><anhanginhalt>${b64}</anhanginhalt></daten></anhang></anhaenge>` })]),
      { maxFieldLength: 1000 },
    );
    expect(o!.attachments[0]!.source).toEqual({ kind: 'inline', base64: b64 });
  });

  it('a huge token outside objects', async () => {
    const err = await caught(
      read(`<openimmo><anbieter><impressum>${'x'.repeat(300_000)}</impressum></anbieter></openimmo>`, { maxFieldLength: 10_000, chunkSize: 16_384 }),
    );
    expect(err.type).toBe('TooLarge');
  });

  it('nesting deeper than maxDepth', async () => {
    const deep = `${'<a>'.repeat(300)}${'</a>'.repeat(300)}`;
    const err = await caught(read(transfer([immobilie({ id: '1', body: deep })])));
    expect(err.type).toBe('TooLarge');
    expect(err.message).toMatch(/nested deeper than 256/);
  });

  it('maxXmlBytes also bounds the XML inside a ZIP', async () => {
    const zip = await zipOf([{ name: 'x.xml', data: transfer([immobilie({ id: '1' })]) }]);
    const err = await caught(read(zip, { maxXmlBytes: 100 }));
    expect(err.type).toBe('ZipRejected');
    expect(err.message).toContain('"x.xml"');
  });

  it('a plain XML file over maxXmlBytes', async () => {
    await withTempDir(async (dir) => {
      const err = await caught(openTransfer(writeTemp(dir, 'x.xml', transfer([immobilie({ id: '1' })])), { maxXmlBytes: 100 }));
      expect(err.type).toBe('TooLarge');
    });
  });
});
