/**
 * A tenant on explicit FTPS (ftps:// = AUTH TLS on the control port, protected data connections):
 * a real vsftpd with TLS forced for logins and data, and a batch that imports through it.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client as FtpClient } from 'basic-ftp';
import { fixturesDir, uniqueId, usePipeline } from '../support/harness';
import { FTP_PASSWORD, FTP_USER } from '../support/vsftpd';

describe('explicit FTPS', () => {
  const tenant = uniqueId('ftps');
  const ctx = usePipeline({ tenants: [{ id: tenant }], ftp: { vsftpd: { tls: true } }, identities: ['ftps-worker'], poolMax: 2 });

  it('refuses plain FTP logins and imports over TLS', async () => {
    const ftps = ctx.ftp();
    expect(ctx.cfg.tenants[0]!.ftp.url).toMatch(/^ftps:\/\//);
    const plain = new FtpClient(5000);
    await expect(plain.access({ host: '127.0.0.1', port: ftps.port, user: FTP_USER, password: FTP_PASSWORD })).rejects.toThrow();
    plain.close();

    const c = new FtpClient(5000);
    await c.access({ host: '127.0.0.1', port: ftps.port, user: FTP_USER, password: FTP_PASSWORD, secure: true, secureOptions: { rejectUnauthorized: false } });
    await c.ensureDir(`/${tenant}`);
    await c.uploadFrom(Readable.from([fs.readFileSync(path.join(fixturesDir, 'transfers', 'change-then-delete-1301.xml'))]), `/${tenant}/tls.xml`);
    c.close();

    const summary = await ctx.batch(tenant);
    expect(summary.imported).toBe(1);
    expect(fs.readdirSync(path.join(ftps.root, tenant, 'processed'))).toEqual([expect.stringMatching(/-tls\.xml$/)]);
    expect(await ctx.db('estates').where({ tenant_id: tenant, source_id: '1301' }).first()).toBeTruthy();
  });
});
