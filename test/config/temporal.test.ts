/**
 * Where and how processes connect to Temporal (config/temporal.ts): Temporal's environment
 * configuration (TEMPORAL_* variables, temporal.toml profiles) over the config file's `temporal`
 * section over the defaults; TLS and API keys only from the first two; short errors without secrets.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../config/config';
import { temporalConnectionError, temporalConnectOptions, temporalTarget } from '../../config/temporal';

const tenants = [{ id: 'acme', ftp: { url: 'ftp://openimmo@ftp.example.com/' } }];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-temporal-config-'));
const file = (name: string, text: string) => {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
};
/** No temporal.toml unless a test names one (the machine's own ~/.config is never read). */
const noToml = { TEMPORAL_CONFIG_FILE: file('empty.toml', '') };

const toml = file(
  'temporal.toml',
  `[profile.default]
address = "default.example:7233"
namespace = "from-default-profile"

[profile.prod]
address = "prod.example:7233"
namespace = "imv-prod"
[profile.prod.tls]
client_cert_path = "${file('client.pem', '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n')}"
client_key_path = "${file('client.key', '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n')}"
server_ca_cert_path = "${file('ca.pem', '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n')}"
server_name = "temporal.internal"
`,
);

describe('Temporal connection settings', () => {
  it('defaults to 127.0.0.1:7233, namespace default, no TLS; the config file section overrides the defaults', () => {
    expect(parseConfig({ tenants }, noToml).temporal).toMatchObject({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'imv-import',
      security: 'none',
    });
    const cfg = parseConfig({ tenants, temporal: { address: 'file.example:7233', namespace: 'ns-file', taskQueue: 'q' } }, noToml);
    expect(cfg.temporal).toMatchObject({ address: 'file.example:7233', namespace: 'ns-file', taskQueue: 'q', profile: null });
  });

  it('a temporal.toml profile wins over the config file, and the environment wins over both', () => {
    const section = { address: 'file.example:7233', namespace: 'ns-file' };
    expect(temporalTarget(section, { TEMPORAL_CONFIG_FILE: toml })).toMatchObject({ address: 'default.example:7233', namespace: 'from-default-profile' });
    expect(temporalTarget(section, { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod' })).toMatchObject({
      address: 'prod.example:7233',
      namespace: 'imv-prod',
      profile: 'prod',
      security: 'mtls',
    });
    expect(temporalTarget({ ...section, profile: 'prod' }, { TEMPORAL_CONFIG_FILE: toml })).toMatchObject({ profile: 'prod', address: 'prod.example:7233' });
    expect(
      temporalTarget(section, { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod', TEMPORAL_ADDRESS: 'env.example:7233', TEMPORAL_NAMESPACE: 'ns-env' }),
    ).toMatchObject({ address: 'env.example:7233', namespace: 'ns-env' });
  });

  it('mTLS from the profile: client certificate pair, CA and server name reach the connection options', () => {
    const o = temporalConnectOptions({ address: 'prod.example:7233', file: {} }, { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod' });
    expect(o.tls).toMatchObject({ serverNameOverride: 'temporal.internal' });
    const tls = o.tls as { clientCertPair: { crt: Uint8Array; key: Uint8Array }; serverRootCACertificate: Uint8Array };
    const text = (b: Uint8Array) => Buffer.from(b).toString();
    expect(text(tls.clientCertPair.crt)).toContain('BEGIN CERTIFICATE');
    expect(text(tls.clientCertPair.key)).toContain('BEGIN PRIVATE KEY');
    expect(text(tls.serverRootCACertificate)).toContain('ca');
  });

  it('TEMPORAL_TLS_* variables alone make an mTLS connection', () => {
    const env = {
      ...noToml,
      TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(tmp, 'client.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(tmp, 'client.key'),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(tmp, 'ca.pem'),
    };
    expect(temporalTarget({}, env).security).toBe('mtls');
    expect((temporalConnectOptions({ address: 'x:1', file: {} }, env).tls as { clientCertPair?: unknown }).clientCertPair).toBeDefined();
  });

  it('an API key turns TLS on (as in the Temporal CLI) unless TLS is disabled; the key is never in the target', () => {
    const env = { ...noToml, TEMPORAL_API_KEY: 'secret-key-123' };
    const target = temporalTarget({}, env);
    expect(target.security).toBe('tls+api-key');
    expect(JSON.stringify(target)).not.toContain('secret-key-123');
    expect(JSON.stringify(parseConfig({ tenants }, env))).not.toContain('secret-key-123');
    const o = temporalConnectOptions({ address: 'x:1', file: {} }, env);
    expect(o).toMatchObject({ apiKey: 'secret-key-123', tls: true });
    expect(temporalConnectOptions({ address: 'x:1', file: {} }, { ...env, TEMPORAL_TLS: 'false' }).tls).toBe(false);
  });

  it('refuses a certificate without its key, a missing profile, a missing file and an unknown key in the section, in one line', () => {
    expect(() => temporalTarget({}, { ...noToml, TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(tmp, 'client.pem') })).toThrow(/client certificate needs its key/);
    expect(() => temporalTarget({}, { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'nope' })).toThrow(/profile "nope".*not found/);
    expect(() => temporalTarget({}, { TEMPORAL_CONFIG_FILE: path.join(tmp, 'missing.toml') })).toThrow(/missing\.toml: no such file/);
    expect(() => temporalConnectOptions({ address: 'x:1', file: {} }, { ...noToml, TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(tmp, 'nope.pem') })).toThrow(
      /Temporal TLS: .*nope\.pem/,
    );
    expect(() => parseConfig({ tenants, temporal: { apiKey: 'x' } }, noToml)).toThrow(/temporal.apiKey: TLS and API keys come from the environment/);
  });

  it('connection errors become one line naming the address and an actionable cause, never the key', () => {
    const target = { address: 'prod.example:7233', namespace: 'n', profile: 'prod', security: 'mtls' };
    expect(temporalConnectionError(target, new Error('transport error: invalid peer certificate: UnknownIssuer'))).toBe(
      "cannot connect to Temporal at prod.example:7233 (with mtls, profile prod): the server's certificate is not signed by the trusted CA (TEMPORAL_TLS_SERVER_CA_CERT_PATH, or the profile's tls.server_ca_cert_path)",
    );
    const keyed = { ...target, security: 'tls+api-key', profile: null };
    const line = temporalConnectionError(keyed, new Error('7 PERMISSION_DENIED: Request unauthorized. token=sk-123'), 'sk-123');
    expect(line).toMatch(/^cannot connect to Temporal at prod.example:7233 \(with tls and api-key\): the API key was refused/);
    expect(line).not.toContain('sk-123');
    const plain = { ...target, security: 'none', profile: null };
    expect(temporalConnectionError(plain, new Error('14 UNAVAILABLE: Connection dropped; tls handshake eof certificate required'))).toMatch(
      /requires a client certificate/,
    );
    expect(temporalConnectionError(plain, new Error('connect ECONNREFUSED 127.0.0.1:7233'))).toMatch(/without TLS\): connection refused/);
  });
});
