/**
 * docker-compose.yml and the production rehearsal share one Temporal server configuration
 * (deploy/temporal/server.env), one server version and one way to make certificates; every service
 * that talks to Temporal gets the certificates. Checked without a Docker engine.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { readServerEnv } from './stack';

const root = path.resolve(__dirname, '../..');
interface Service {
  image?: string;
  env_file?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
}
const compose = YAML.parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const tlsMount = '${TEMPORAL_TLS_DIR:-./deploy/temporal/tls}:/etc/temporal/tls:ro';

describe('the Temporal server of docker-compose.yml is the rehearsal’s', () => {
  it('reads deploy/temporal/server.env, whose settings are production’s: PostgreSQL, SQL visibility, 4 shards, client certificates required', () => {
    const t = compose.services.temporal;
    expect(t.env_file).toEqual(['./deploy/temporal/server.env']);
    // Only secrets are set beside the file, so nothing differs between compose and the rehearsal.
    expect(Object.keys(t.environment ?? {}).sort()).toEqual(['POSTGRES_PWD', 'POSTGRES_USER']);
    expect(t.volumes).toContain(tlsMount);
    const env = readServerEnv();
    expect(env).toMatchObject({ DB: 'postgres12', NUM_HISTORY_SHARDS: '4', TEMPORAL_TLS_REQUIRE_CLIENT_AUTH: 'true' });
    expect(Number(env.NUM_HISTORY_SHARDS)).toBeGreaterThanOrEqual(4);
    expect(env.ENABLE_ES).toBeUndefined();
    // Every certificate path is under the folder compose mounts (the rehearsal puts its own there).
    for (const [k, v] of Object.entries(env)) if (k.startsWith('TEMPORAL_TLS_') && v.startsWith('/')) expect(v, k).toMatch(/^\/etc\/temporal\/tls\//);
    expect(fs.existsSync(path.join(root, 'deploy/temporal/dynamicconfig', path.basename(env.DYNAMIC_CONFIG_FILE_PATH)))).toBe(true);
  });

  it('pins one version for the server and admin-tools, the one the rehearsal builds', () => {
    const version = (image?: string) => /:\$\{TEMPORAL_VERSION:-([0-9.]+)\}$/.exec(image ?? '')?.[1];
    const pinned = version(compose.services.temporal.image);
    expect(pinned).toMatch(/^1\.\d+\.\d+$/);
    expect(version(compose.services['temporal-admin-tools'].image)).toBe(pinned);
    expect(version(compose.services['temporal-init'].image)).toBe(pinned);
    const script = fs.readFileSync(path.join(root, 'scripts/install-temporal-server.sh'), 'utf8');
    expect(script).toContain('docker-compose.yml');
  });

  it('every service that talks to Temporal has the certificates and Temporal’s environment configuration', () => {
    for (const name of ['worker', 'migrate', 'scheduler', 'temporal-init']) {
      const s = compose.services[name];
      expect(s.volumes, name).toContain(tlsMount);
      expect(s.environment, name).toMatchObject({
        TEMPORAL_ADDRESS: 'temporal:7233',
        TEMPORAL_TLS_CLIENT_CERT_PATH: '/etc/temporal/tls/client.pem',
        TEMPORAL_TLS_CLIENT_KEY_PATH: '/etc/temporal/tls/client.key',
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/etc/temporal/tls/ca.pem',
        TEMPORAL_TLS_SERVER_NAME: 'temporal',
      });
    }
    const ui = compose.services['temporal-ui'];
    expect(ui.volumes).toContain(tlsMount);
    expect(ui.environment).toMatchObject({ TEMPORAL_TLS_CERT: '/etc/temporal/tls/client.pem', TEMPORAL_TLS_CA: '/etc/temporal/tls/ca.pem' });
  });
});
