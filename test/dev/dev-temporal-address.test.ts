/**
 * `imv-import dev` with TEMPORAL_ADDRESS exported (the dev banner suggests it for other shells): when
 * nothing (or no Temporal server) answers there, it says what happened and what to do, exits 1, and
 * prints no stack and no raw gRPC error. Nothing else is started before that check.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../common/net';

const bin = path.resolve(__dirname, '../../bin/imv-import.js');

function runDev(address: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-dev-addr-'));
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: address, LOG_LEVEL: 'warn' };
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, 'dev', '--data-dir', dataDir, '--exit-after-import'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function expectAdvice(r: { code: number | null; stdout: string; stderr: string }, address: string, what: string): void {
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stderr).toContain(
    `imv-import: TEMPORAL_ADDRESS=${address} is set but ${what}: unset it (unset TEMPORAL_ADDRESS) to let \`imv-import dev\` start its own Temporal server`,
  );
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).not.toMatch(/tonic|ConnectError|UNAVAILABLE/);
  // Nothing was started before the check.
  expect(r.stdout).toBe('');
}

describe('imv-import dev with TEMPORAL_ADDRESS set', () => {
  beforeAll(() => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js')), 'run `npm run build` first (npm test does)').toBe(true);
  });

  it('explains a free loopback port (nothing listening) and exits 1', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    expectAdvice(await runDev(address), address, 'nothing answers there');
  });

  it('explains a port where something other than Temporal answers', async () => {
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    try {
      expectAdvice(await runDev(address), address, 'no Temporal server answers there');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
