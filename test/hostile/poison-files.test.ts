/**
 * Poison files fail alone (issue 7): one batch holds good files beside files whose NAME, SIZE or BYTES
 * once blocked a tenant or left the ledger `importing` forever — a NUL in a ZIP entry name, a 0-byte
 * file, a `"`, a lone `-x` word or a `\` in the name, a leading dash, names of 252 and 255 bytes. On
 * vsftpd and on the embedded ftp-srv (the dev default). One batch must import the good files, end every
 * file in a final ledger state with a readable report, leave no row `importing` or `error`, and not
 * block the next batch, which imports nothing again.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { BatchSummary } from '../../common/messages';
import { archiveNames, MAX_NAME_BYTES } from '../../common/remote-names';
import { NUL_SYMBOL } from '../../common/pg-safe';
import { goodXml, goodZip, imvObject, imvTransfer, PNG } from './hostile-files';
import { craftZip } from '../openimmo/helpers';
import { SERVERS, useTwoServers, type Server } from './two-servers';

interface Poison {
  name: string;
  bytes: Buffer;
  /** Final ledger status per server. */
  status: Record<Server, 'imported' | 'failed'>;
  errorType?: string;
  /** Servers that refuse to move this name: the file stays in the inbox, finished. */
  staysOn?: Server[];
  /** The IMV id of its one object. */
  id?: string;
}

const long = (n: number, id: string) => `${'l'.repeat(n - id.length - 5)}-${id}.xml`;

async function poisonFiles(): Promise<Poison[]> {
  const both = (s: 'imported' | 'failed') => ({ vsftpd: s, 'ftp-srv': s });
  return [
    { name: 'good-1.xml', id: '9101', bytes: goodXml('9101'), status: both('imported') },
    {
      name: 'nul-entry.zip',
      // A NUL in an entry name: a malformed archive, crafted.
      bytes: craftZip([
        { name: 'openimmo.xml', data: imvTransfer([imvObject({ id: '9102' })]) },
        { name: 'bilder/x.png\u0000../x', data: PNG },
      ]),
      status: both('failed'),
      errorType: 'ZipRejected',
    },
    { name: 'empty.xml', bytes: Buffer.alloc(0), status: both('failed') },
    // ftp-srv's own command parser dropped every `"` (the embedded server replaces it).
    { name: 'quote"name.xml', id: '9103', bytes: goodXml('9103'), status: both('imported') },
    { name: '-dash.xml', id: '9104', bytes: goodXml('9104'), status: both('imported') },
    // ftp-srv's own parser read a lone `-x` word as a flag, and the embedded server's file system a `\` as a separator.
    { name: 'Expose -x back\\slash.xml', id: '9108', bytes: goodXml('9108'), status: both('imported') },
    { name: long(252, '9105'), id: '9105', bytes: goodXml('9105'), status: both('imported') },
    { name: long(255, '9106'), id: '9106', bytes: goodXml('9106'), status: both('imported') },
    { name: 'good-2.zip', id: '9107', bytes: await goodZip('9107'), status: both('imported') },
  ];
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)).map((p) => path.join(e.name, p)) : [e.name]));
}

describe('poison files fail alone, on vsftpd and on the embedded FTP server', () => {
  const two = useTwoServers('poison');
  let files: Poison[] = [];
  const summaries = {} as Record<Server, BatchSummary>;

  beforeAll(async () => {
    files = await poisonFiles();
    for (const s of SERVERS) two.put(s, files);
    for (const s of SERVERS) summaries[s] = await two.batch(two.tenants[s]);
  });

  describe.each(SERVERS)('%s', (server) => {
    it('one batch: the good files import, every file ends in a final state, nothing importing or error', async () => {
      const tenant = two.tenants[server];
      const summary = summaries[server];
      expect(summary.files).toBe(files.length);
      const rows = await two.db('import_files').where({ tenant_id: tenant }).select();
      expect(rows.filter((r) => r.status === 'importing' || r.status === 'error').map((r) => r.file_name)).toEqual([]);
      for (const f of files) {
        const row = rows.find((r) => r.file_name === f.name);
        expect(row, f.name).toBeDefined();
        expect({ file: f.name, status: row.status }).toEqual({ file: f.name, status: f.status[server] });
        if (f.errorType) expect({ file: f.name, type: row.error_type }).toEqual({ file: f.name, type: f.errorType });
        if (row.status === 'failed') {
          expect(row.error_message, f.name).toBeTruthy();
          expect(row.error_message.length, f.name).toBeLessThan(2100);
        }
      }
      // Each good object is an estate; the poison ones are not.
      const estates = (await two.db('estates').where({ tenant_id: tenant }).pluck('source_id')) as string[];
      const good = files.filter((f) => f.status[server] === 'imported').map((f) => f.id);
      expect(estates.sort()).toEqual(good.sort());
    });

    it('names with a quote, a lone -x word or a backslash are dated exactly and imported', async () => {
      const tenant = two.tenants[server];
      for (const name of ['quote"name.xml', 'Expose -x back\\slash.xml']) {
        const row = await two.db('import_files').where({ tenant_id: tenant, file_name: name }).first();
        expect({ name, status: row.status, notes: row.notes ?? [] }).toEqual({ name, status: 'imported', notes: [] });
      }
    });

    it('a NUL in a ZIP entry name is stored visibly, not refused by PostgreSQL', async () => {
      const row = await two.db('import_files').where({ tenant_id: two.tenants[server], file_name: 'nul-entry.zip' }).first();
      expect(row.error_message).toContain(NUL_SYMBOL);
      expect(row.error_message).toMatch(/^nul-entry\.zip: /);
    });

    it('every failed file has a readable report beside its archived name, all names within 255 bytes', async () => {
      const tenant = two.tenants[server];
      const tree = walk(two.inbox(server));
      for (const name of tree) expect(Buffer.byteLength(path.basename(name)), name).toBeLessThanOrEqual(MAX_NAME_BYTES);
      const rows = await two.db('import_files').where({ tenant_id: tenant }).select();
      for (const row of rows) {
        const names = archiveNames(row.id, row.file_name);
        const folder = row.status === 'failed' ? 'failed' : 'processed';
        if (row.status === 'failed') {
          expect(tree, row.file_name).toContain(`${folder}/${names.report}`);
          const report = fs.readFileSync(path.join(two.inbox(server), folder, names.report), 'utf8');
          expect(report).toContain('status:    failed');
          expect(report).toContain(`error:     ${row.error_type}: `);
          expect(report).toContain(`imv-import replay ${row.id}`);
        }
        expect(tree, row.file_name).toContain(`feedback/${names.feedback}`);
      }
    });

    it('files the server will not move stay in the inbox, finished, with a note; all others are archived', async () => {
      const tenant = two.tenants[server];
      const inbox = fs
        .readdirSync(two.inbox(server), { withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => e.name)
        .sort();
      const stays = files
        .filter((f) => f.staysOn?.includes(server))
        .map((f) => f.name)
        .sort();
      expect(inbox).toEqual(stays);
      for (const name of stays) {
        const row = await two.db('import_files').where({ tenant_id: tenant, file_name: name }).first();
        expect(row.notes.join('\n'), name).toMatch(/not moved to (processed|failed)\/: the server refused/);
        expect(row.archived_path).toBeNull();
      }
      for (const f of files.filter((x) => !stays.includes(x.name))) {
        const row = await two.db('import_files').where({ tenant_id: tenant, file_name: f.name }).first();
        const names = archiveNames(row.id, f.name);
        const folder = row.status === 'failed' ? 'failed' : 'processed';
        expect(row.archived_path).toBe(`/${tenant}/${folder}/${names.archived}`);
        // The archived copy is the file as it arrived (for the sender and for replay).
        expect(fs.readFileSync(path.join(two.inbox(server), folder, names.archived)).equals(f.bytes), f.name).toBe(true);
      }
    });

    it('long names are shortened with a hash, keeping their start and extension', async () => {
      const tenant = two.tenants[server];
      for (const f of files.filter((x) => x.name.length >= 252)) {
        const row = await two.db('import_files').where({ tenant_id: tenant, file_name: f.name }).first();
        const names = archiveNames(row.id, f.name);
        expect(names.archived).toMatch(/^\d+-l+~[0-9a-f]{10}\.xml$/);
        expect(names.feedback).toMatch(/^\d+-l+(-\d+)?(~[0-9a-f]{10})?-feedback\.xml$/);
      }
    });

    it('the next batch imports nothing again and does not fail', async () => {
      const tenant = two.tenants[server];
      const before = await two.db('import_files').where({ tenant_id: tenant }).count<{ n: number }[]>('* as n');
      const next = await two.batch(tenant);
      expect(next.files).toBe(0);
      const after = await two.db('import_files').where({ tenant_id: tenant }).count<{ n: number }[]>('* as n');
      expect(after[0].n).toBe(before[0].n);
    });
  });
});
