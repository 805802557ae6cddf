/** The file store's configuration: kind, folder, retention; the environment overrides the file. */
import { describe, expect, it } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, parseConfig } from '../../config/config';

const tenants = [{ id: 'acme', ftp: { url: 'ftp://openimmo@ftp.example.com/' } }];

describe('fileStore configuration', () => {
  it('defaults to the fs store in ~/.cache, 90 days of retention, a daily collection', () => {
    expect(parseConfig({ tenants }, {}).fileStore).toEqual({
      kind: 'fs',
      dir: path.join(os.homedir(), '.cache', 'imv-import', 'store'),
      retentionDays: 90,
      gcIntervalHours: 24,
    });
  });

  it('reads the older fileStoreDir as the fs directory, but not as the postgres scratch folder', () => {
    expect(parseConfig({ tenants, fileStoreDir: '/srv/store' }, {}).fileStore.dir).toBe('/srv/store');
    expect(parseConfig({ tenants, fileStoreDir: '/srv/store', fileStore: { kind: 'postgres' } }, {}).fileStore).toMatchObject({
      kind: 'postgres',
      dir: path.join(os.homedir(), '.cache', 'imv-import', 'scratch'),
    });
  });

  it('IMV_FILE_STORE_KIND and IMV_FILE_STORE override the file; a wrong kind is refused', () => {
    const cfg = parseConfig(
      { tenants, fileStore: { kind: 'fs', dir: '/srv/store', retentionDays: 30 } },
      { IMV_FILE_STORE_KIND: 'postgres', IMV_FILE_STORE: '/tmp/imv' },
    );
    expect(cfg.fileStore).toEqual({ kind: 'postgres', dir: '/tmp/imv', retentionDays: 30, gcIntervalHours: 24 });
    expect(() => parseConfig({ tenants }, { IMV_FILE_STORE_KIND: 's3' })).toThrow(ConfigError);
    expect(() => parseConfig({ tenants, fileStore: { kind: 's3' } }, {})).toThrow(/fileStore.kind/);
    expect(() => parseConfig({ tenants, fileStore: { retentionDays: 0 } }, {})).toThrow(/fileStore.retentionDays/);
  });
});
