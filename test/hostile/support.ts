/**
 * Bait for "is anything ever fetched?": a local file holding a marker string, and an HTTP server on
 * loopback that records every TCP connection (not only complete HTTP requests).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Bait } from './hostile-files';

export interface BaitServer extends Bait {
  /** Connections and requests seen so far. */
  connections: number;
  requests: string[];
  close(): Promise<void>;
}

export async function startBait(): Promise<BaitServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-bait-'));
  const marker = `HOSTILE-MARKER-${randomBytes(8).toString('hex')}`;
  const file = path.join(dir, 'secret.txt');
  fs.writeFileSync(file, `${marker}\n`);
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    // Whatever was asked for gets the marker: if it ever lands anywhere, it was fetched.
    res.setHeader('content-type', 'application/xml');
    res.end(req.url?.endsWith('.dtd') ? `<!ENTITY fromdtd "${marker}">` : marker);
  });
  const state = { connections: 0 };
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    file,
    marker,
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return state.connections;
    },
    requests,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Paths a traversal/absolute ZIP entry aims at; they must never exist afterwards. */
export function outsideTargets(): { traversal: string; absolute: string } {
  const tag = randomBytes(6).toString('hex');
  return { traversal: path.join(os.tmpdir(), `imv-owned-${tag}-traversal.txt`), absolute: path.join(os.tmpdir(), `imv-owned-${tag}-absolute.txt`) };
}
