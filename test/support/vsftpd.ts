/**
 * A real FTP daemon for the pipeline tests: Debian's vsftpd on loopback, in the foreground as a
 * child process, serving a temp folder to the local user `imvftp` (scripts/install-test-deps.sh).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitForPort } from '../../dev/temporal-server';
import { freePortOn } from './net';

export const FTP_USER = 'imvftp';
export const FTP_PASSWORD = 'imvftp-test-secret';

export interface Vsftpd {
  port: number;
  root: string;
  /** The listener's process id while it runs. */
  pid(): number | null;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A self-signed certificate for explicit FTPS (AUTH TLS), made once per process. */
function testCertificate(): { cert: string; key: string } {
  const dir = path.join(os.tmpdir(), `imv-ftps-cert-${process.pid}`);
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  if (!fs.existsSync(cert)) {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert], {
      stdio: 'ignore',
    });
  }
  return { cert, key };
}

/**
 * `host`: the address to listen on and to announce in PASV answers (default loopback; the multi-host
 * test binds it to an address of its own network namespaces). `maxPerIp`: connections vsftpd accepts
 * from one address at once (default unlimited); it refuses a further one with 421.
 */
export interface VsftpdOptions {
  root?: string;
  port?: number;
  tls?: boolean;
  host?: string;
  maxPerIp?: number;
}

export async function startVsftpd(opts: VsftpdOptions = {}): Promise<Vsftpd> {
  const host = opts.host ?? '127.0.0.1';
  const root = opts.root ?? fs.mkdtempSync(path.join(os.tmpdir(), 'imv-ftp-'));
  fs.mkdirSync(root, { recursive: true });
  execFileSync('chown', [`${FTP_USER}:${FTP_USER}`, root]);
  fs.chmodSync(root, 0o755);
  fs.mkdirSync('/var/run/vsftpd/empty', { recursive: true });
  const port = opts.port ?? (await freePortOn(host));
  const pasvMin = 40000 + Math.floor(Math.random() * 20000);
  const conf = path.join(os.tmpdir(), `vsftpd-${port}.conf`);
  fs.writeFileSync(
    conf,
    [
      'listen=YES',
      'listen_ipv6=NO',
      `listen_address=${host}`,
      `listen_port=${port}`,
      'background=NO',
      'anonymous_enable=NO',
      'local_enable=YES',
      'write_enable=YES',
      'local_umask=022',
      'pasv_enable=YES',
      `pasv_min_port=${pasvMin}`,
      `pasv_max_port=${pasvMin + 50}`,
      `pasv_address=${host}`,
      'seccomp_sandbox=NO',
      'pam_service_name=vsftpd',
      `local_root=${root}`,
      'chroot_local_user=YES',
      'allow_writeable_chroot=YES',
      'secure_chroot_dir=/var/run/vsftpd/empty',
      'use_localtime=NO',
      'xferlog_enable=NO',
      'max_clients=0',
      `max_per_ip=${opts.maxPerIp ?? 0}`,
      ...(opts.tls
        ? (() => {
            const { cert, key } = testCertificate();
            return [
              'ssl_enable=YES',
              `rsa_cert_file=${cert}`,
              `rsa_private_key_file=${key}`,
              'force_local_logins_ssl=YES',
              'force_local_data_ssl=YES',
              'require_ssl_reuse=NO',
              'ssl_ciphers=HIGH',
            ];
          })()
        : []),
      '',
    ].join('\n'),
  );
  let child: ChildProcess | null = null;
  const handle: Vsftpd = {
    port,
    root,
    pid: () => child?.pid ?? null,
    async start() {
      if (child) return;
      child = spawn('vsftpd', [conf], { stdio: 'ignore' });
      child.once('exit', () => {
        child = null;
      });
      await waitForPort(port, host, 10_000);
    },
    async stop() {
      const c = child;
      if (!c) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      });
      // vsftpd forks a process per session; make sure none survive the listener.
      try {
        execFileSync('pkill', ['-f', `vsftpd ${conf}`]);
      } catch {
        /* none left */
      }
    },
  };
  await handle.start();
  return handle;
}
