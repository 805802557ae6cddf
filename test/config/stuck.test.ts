/** The stuck-import limit in the config file (worker.stuckAfter) and its precedence: flag > IMV_STUCK_AFTER > config file > 2h. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../config/config';
import { stuckAfterSeconds } from '../../ops/stuck';

const tenants = [{ id: 'acme', ftp: { url: 'ftp://openimmo@ftp.example.com/' } }];

describe('worker.stuckAfter', () => {
  it('is read from the file as a duration; absent, nothing is set', () => {
    expect(parseConfig({ tenants, worker: { stuckAfter: '90m' } }, {}).worker.stuckAfter).toBe('90m');
    expect(parseConfig({ tenants, worker: { stuckAfter: '1d' } }, {}).worker.stuckAfter).toBe('1d');
    expect(parseConfig({ tenants }, {}).worker.stuckAfter).toBeUndefined();
  });

  it('refuses what is not a positive duration, naming the field', () => {
    for (const bad of ['soon', '0m', '-5m', '2 weeks', 7200]) {
      expect(() => parseConfig({ tenants, worker: { stuckAfter: bad } }, {}), String(bad)).toThrow(ConfigError);
      expect(() => parseConfig({ tenants, worker: { stuckAfter: bad } }, {}), String(bad)).toThrow(/worker\.stuckAfter/);
    }
  });

  it('the flag wins over IMV_STUCK_AFTER, which wins over the file, which wins over 2h', () => {
    const configured = parseConfig({ tenants, worker: { stuckAfter: '3h' } }, {}).worker.stuckAfter;
    expect(stuckAfterSeconds('45m', { IMV_STUCK_AFTER: '5h' }, configured)).toBe(45 * 60);
    expect(stuckAfterSeconds(undefined, { IMV_STUCK_AFTER: '5h' }, configured)).toBe(5 * 3600);
    expect(stuckAfterSeconds(undefined, {}, configured)).toBe(3 * 3600);
    expect(stuckAfterSeconds(undefined, {}, undefined)).toBe(2 * 3600);
    // An empty IMV_STUCK_AFTER is unset, as before.
    expect(stuckAfterSeconds(undefined, { IMV_STUCK_AFTER: '' }, configured)).toBe(3 * 3600);
  });
});
