/**
 * What the processes say about a database URL: its address (host and port, never the user or the
 * password) in a connection error, and the URL without its password in the dev banner.
 */
import { describe, expect, it } from 'vitest';
import { databaseAddress, DatabaseConnectionError, withoutPassword } from '../../db/db';

describe('database URLs in messages', () => {
  it('the address is host and port, with the defaults and libpq-style host/port parameters', () => {
    expect(databaseAddress('postgres://imv:s3cret@db.example:6543/imv?sslmode=verify-full&sslrootcert=/etc/ca.pem')).toBe('db.example:6543');
    expect(databaseAddress('postgres://imv@db.example/imv')).toBe('db.example:5432');
    expect(databaseAddress('postgres://imv@[::1]:5433/imv')).toBe('::1:5433');
    expect(databaseAddress('postgres:///imv?host=/var/run/postgresql&port=5434')).toBe('/var/run/postgresql:5434');
    expect(databaseAddress('not a url s3cret')).toBe('an unparsable databaseUrl');
  });

  it('a connection error names the address and the cause, never the password', () => {
    const e = new DatabaseConnectionError(
      'postgres://imv:s3cret@db.example:6543/imv',
      Object.assign(new Error('unable to get local issuer certificate'), { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' }),
    );
    expect(e.message).toBe(
      "cannot connect to PostgreSQL at db.example:6543 (databaseUrl in IMV_CONFIG, or DATABASE_URL): unable to get local issuer certificate (the server's certificate is not signed by a CA in sslrootcert)",
    );
    expect(e.exitCode).toBe(1);
  });

  it('the banner shows the URL without its password', () => {
    expect(withoutPassword('postgres://imv:s3cret@db.example:6543/imv?sslmode=verify-full')).toBe('postgres://imv:***@db.example:6543/imv?sslmode=verify-full');
    expect(withoutPassword('postgres://imv@db.example/imv')).toBe('postgres://imv@db.example/imv');
  });
});
