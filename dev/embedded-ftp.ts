// An FTP server inside the process, serving a local folder on loopback: the default inbox of the
// one-command demo when no FTP URL is configured. Not for production (docker-compose runs a real daemon).
//
// ftp-srv 4.6.3 as basic-ftp 6.2 sees it (checked in test/dev/embedded-ftp.unit.test.ts):
// - FEAT: SIZE, MDTM, TYPE, UTF8 — no MLST, so basic-ftp lists with `LIST -a`; ftp-srv parses a bare
//   `-a` as a flag and lists the directory. LIST is `ls` style with the time in UTC, minute precision
//   (`Nov 27 08:12`, or `Nov 27  2025` after six months): exact values come from SIZE and MDTM.
// - MDTM answers `213 YYYYMMDDHHmmss.SSS` in UTC (millisecond precision, the file's mtime truncated).
// - SIZE answers the stat size of whatever the path is, including a directory (no 550 for it).
// - An upload is visible in LIST while it is written (not atomic), like on a real daemon; the 226 comes
//   after the file is flushed.
// - RNTO replaces an existing target (rename(2)) and fails with 550 when the target folder is missing.
// - ftp-srv's own command parser drops every `"` in a command line and treats a lone `-x` word as a flag (except
//   for RETR/SIZE/STOR), so such file names could not be addressed: each connection gets our parser
//   instead (`parseFtpCommand`: the argument is the rest of the line, verbatim; only LIST/NLST/STAT take
//   leading `-x` options, as vsftpd does). The file system below reads `\` as a character, not a separator.
// Patched here: the constructor installs SIGTERM/SIGINT/SIGQUIT handlers that call process.exit(0)
// (removed, the host process owns its shutdown); bunyan logging to stdout (replaced); MKD answered with
// the server's local path and errors carried local paths (the file system below answers with client
// paths and plain messages); symlinks inside the root could point outside it (refused); PASV needs
// `pasv_url` (set to the loopback host; EPSV, which basic-ftp tries first, works either way); the
// control socket used Nagle's algorithm, so the 226 after a 150 waited for the client's delayed ACK and
// every download or upload of a few KB took ~47 ms instead of ~3 ms (vsftpd): TCP_NODELAY is set.
import { createReadStream, createWriteStream, promises as fsp, type Stats } from 'node:fs';
import * as nodePath from 'node:path';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Server } from 'node:net';
import { FtpSrv, FileSystem, type FtpConnection } from 'ftp-srv';
import type { Logger } from 'pino';

export interface EmbeddedFtpOptions {
  /** The folder served as the user's home (created if missing). */
  root: string;
  /** Loopback only. */
  host?: '127.0.0.1';
  /** 0 lets the OS choose; the chosen port is in the returned url. */
  port: number;
  user: string;
  password: string;
  /** Passive data ports, inclusive. Default: any free port the OS gives. */
  pasvRange?: [number, number];
  /** Where ftp-srv's own errors go: refused commands at debug, the rest at warn. Default: nowhere. */
  logger?: Logger;
}

export interface EmbeddedFtp {
  /** `ftp://user@127.0.0.1:port/`, never with the password. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startEmbeddedFtp(options: EmbeddedFtpOptions): Promise<EmbeddedFtp> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new Error('the embedded FTP server listens on loopback only');
  if (!options.user || !options.password) throw new Error('the embedded FTP server needs a user and a password');
  const [pasvMin, pasvMax] = options.pasvRange ?? [0, 0];
  if (pasvMin > pasvMax || pasvMin < 0 || pasvMax > 65535) throw new Error(`invalid passive port range ${pasvMin}-${pasvMax}`);

  await fsp.mkdir(options.root, { recursive: true });
  const realRoot = await fsp.realpath(options.root);

  const signals = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const server = new FtpSrv({
    url: `ftp://${host}:${options.port}`,
    pasv_url: host,
    // [0, 0] makes ftp-srv's port finder hand out port 0, i.e. an ephemeral port for each transfer.
    pasv_min: pasvMin,
    pasv_max: pasvMax,
    anonymous: false,
    log: ftpSrvLog(options.logger),
  });
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }

  // ftp-srv's parser rewrites file names (see the header); each connection's is replaced before its first command.
  (server as unknown as NodeJS.EventEmitter).on('connect', ({ connection }: { connection: { commands: { parse: typeof parseFtpCommand } } }) => {
    connection.commands.parse = parseFtpCommand;
  });

  const expectedUser = digest(options.user);
  const expectedPassword = digest(options.password);
  server.on('login', ({ connection, username, password }, resolve, reject) => {
    // Compare both, always, in constant time: no hint which one was wrong.
    const userOk = timingSafeEqual(digest(username), expectedUser);
    const passwordOk = timingSafeEqual(digest(password), expectedPassword);
    // Replies go out at once: with Nagle's algorithm a reply written right after another (150 then
    // 226) waited for the client's delayed ACK, 40 ms per transfer.
    (connection as unknown as { commandSocket?: { setNoDelay(on: boolean): void } }).commandSocket?.setNoDelay(true);
    if (userOk && passwordOk) resolve({ fs: new HomeFileSystem(connection, realRoot) });
    else reject(new Error('Login incorrect'));
  });

  try {
    await server.listen();
  } catch (err) {
    await server.close().catch(() => undefined);
    throw err;
  }
  // ftp-srv's typings omit its net.Server; with port 0 it is the only place the chosen port shows.
  const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;

  let stopped: Promise<void> | undefined;
  return {
    url: `ftp://${encodeURIComponent(options.user)}@${host}:${port}/`,
    port,
    stop() {
      stopped ??= Promise.resolve(server.close()).then(() => undefined);
      return stopped;
    },
  };
}

/** Commands whose argument may start with `ls` options (basic-ftp lists with `LIST -a`). */
const TAKES_OPTIONS = new Set(['LIST', 'NLST', 'STAT']);

/**
 * A command line as ftp-srv's handlers expect it (`directive`, `arg`, `flags`, `raw`), without ftp-srv's
 * rewrites: the argument is everything after the first space, so a file name keeps its quotes, dashes,
 * backslashes and spaces. Only listings take options, and only before the path.
 */
export function parseFtpCommand(message: string): { directive: string; arg: string | null; flags: string[]; raw: string } {
  const space = message.indexOf(' ');
  const directive = (space < 0 ? message : message.slice(0, space)).trim().toUpperCase();
  let arg = space < 0 ? '' : message.slice(space + 1);
  const flags: string[] = [];
  if (TAKES_OPTIONS.has(directive)) {
    for (let m = /^(-\w+)(?: +|$)/.exec(arg); m; m = /^(-\w+)(?: +|$)/.exec(arg)) {
      flags.push(m[1]!);
      arg = arg.slice(m[0].length);
    }
  }
  return { directive, arg: arg.length ? arg : null, flags, raw: message };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * ftp-srv's file system with the local folder as `/`, answering with client paths only, and refusing
 * paths that leave the root through a symlink.
 */
class HomeFileSystem extends FileSystem {
  readonly #realRoot: string;

  constructor(connection: FtpConnection, realRoot: string) {
    super(connection, { root: realRoot, cwd: '/' });
    this.#realRoot = realRoot;
  }

  override currentDirectory(): string {
    return this.cwd;
  }

  override async get(fileName: string): Promise<Stats & { name: string }> {
    const { fsPath } = await this.#resolve(fileName);
    const stat = await fsCall(() => fsp.stat(fsPath));
    return Object.assign(stat, { name: fileName });
  }

  override async list(path = '.'): Promise<Array<Stats & { name: string }>> {
    const { clientPath, fsPath } = await this.#resolve(path);
    const names = await fsCall(() => fsp.readdir(fsPath));
    const entries = await Promise.all(
      names.map(async (name) => {
        try {
          const entry = await this.#resolve(nodePath.posix.join(clientPath, name));
          const stat = await fsp.stat(entry.fsPath);
          return Object.assign(stat, { name });
        } catch {
          return null; // broken symlink, one leading outside, or gone since readdir
        }
      }),
    );
    return entries.filter((e): e is Stats & { name: string } => e !== null);
  }

  override async chdir(path = '.'): Promise<string> {
    const { clientPath, fsPath } = await this.#resolve(path);
    const stat = await fsCall(() => fsp.stat(fsPath));
    if (!stat.isDirectory()) throw new FileSystemError('Not a directory');
    (this as { cwd: string }).cwd = clientPath;
    return clientPath;
  }

  override async write(
    fileName: string,
    { append = false, start }: { append?: boolean; start?: number } = {},
  ): Promise<{ stream: NodeJS.WritableStream; clientPath: string }> {
    const { clientPath, fsPath } = await this.#resolve(fileName);
    const flags = append ? 'a' : start !== undefined && start > 0 ? 'r+' : 'w';
    const stream = createWriteStream(fsPath, { flags, start });
    stream.once('error', () => void fsp.unlink(fsPath).catch(() => undefined));
    return { stream, clientPath };
  }

  override async read(fileName: string, { start }: { start?: number } = {}): Promise<{ stream: NodeJS.ReadableStream; clientPath: string }> {
    const { clientPath, fsPath } = await this.#resolve(fileName);
    const stat = await fsCall(() => fsp.stat(fsPath));
    if (stat.isDirectory()) throw new FileSystemError('Is a directory');
    return { stream: createReadStream(fsPath, { flags: 'r', start }), clientPath };
  }

  override async delete(path: string): Promise<void> {
    const { clientPath, fsPath } = await this.#resolve(path);
    if (clientPath === '/') throw new FileSystemError('Permission denied');
    const stat = await fsCall(() => fsp.lstat(fsPath));
    await fsCall(() => (stat.isDirectory() ? fsp.rmdir(fsPath) : fsp.unlink(fsPath)));
  }

  override async mkdir(path: string): Promise<string> {
    const { clientPath, fsPath } = await this.#resolve(path);
    await fsCall(() => fsp.mkdir(fsPath, { recursive: true }));
    return clientPath;
  }

  override async rename(from: string, to: string): Promise<void> {
    const source = await this.#resolve(from);
    const target = await this.#resolve(to);
    if (source.clientPath === '/' || target.clientPath === '/') throw new FileSystemError('Permission denied');
    await fsCall(() => fsp.rename(source.fsPath, target.fsPath));
  }

  override async chmod(): Promise<void> {
    throw new FileSystemError('Permission denied');
  }

  /** Client path (absolute, normalized, never above `/`) and the local path it stands for. */
  async #resolve(path = '.'): Promise<{ clientPath: string; fsPath: string }> {
    // `/` is the only separator (a `\` is part of a name, as on the disk); posix.join/normalize clamp
    // `..` at the root: `/../x` is `/x`.
    const clientPath = nodePath.posix.isAbsolute(path) ? nodePath.posix.normalize(path) : nodePath.posix.join('/', this.cwd, path);
    const fsPath = nodePath.join(this.#realRoot, ...clientPath.split('/').filter(Boolean));
    const real = await realpathOfNearest(fsPath);
    if (real !== this.#realRoot && !real.startsWith(this.#realRoot + nodePath.sep)) {
      throw new FileSystemError('Permission denied');
    }
    return { clientPath: clientPath.length > 1 ? clientPath.replace(/\/+$/, '') : clientPath, fsPath };
  }
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest (for paths yet to be created). */
async function realpathOfNearest(p: string): Promise<string> {
  const rest: string[] = [];
  let current = p;
  for (;;) {
    try {
      return nodePath.join(await fsp.realpath(current), ...rest.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const parent = nodePath.dirname(current);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === current) throw plainError(err);
      rest.push(nodePath.basename(current));
      current = parent;
    }
  }
}

/** ftp-srv answers a failed command with the error's message (its typed errors are not exported as typed). */
class FileSystemError extends Error {}

const ERRNO_MESSAGES: Record<string, string> = {
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EEXIST: 'File exists',
  ENOTEMPTY: 'Directory not empty',
  EACCES: 'Permission denied',
  EPERM: 'Permission denied',
  EXDEV: 'Cross-device rename not supported',
  ENOSPC: 'No space left on device',
};

/** Node's fs errors name the local path; the FTP client gets the reason only. */
function plainError(err: unknown): Error {
  if (err instanceof FileSystemError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return new FileSystemError((code && ERRNO_MESSAGES[code]) || 'File system error');
}

async function fsCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw plainError(err);
  }
}

type LogArgs = unknown[];
interface BunyanLike {
  trace(...args: LogArgs): void;
  debug(...args: LogArgs): void;
  info(...args: LogArgs): void;
  warn(...args: LogArgs): void;
  error(...args: LogArgs): void;
  fatal(...args: LogArgs): void;
  child(fields?: unknown): BunyanLike;
}

/**
 * The bunyan-shaped logger ftp-srv expects. ftp-srv logs every refused client command (a missing file,
 * a wrong password) at error; for the host process a refusal by the file system is debug, anything else
 * (failed logins, socket and server errors) a warning, and ftp-srv's trace/debug/info chatter is dropped.
 */
function ftpSrvLog(logger: Logger | undefined): BunyanLike {
  const noop = (): void => undefined;
  const target = logger?.child({ component: 'embedded-ftp' });
  const warn = (...args: LogArgs): void => {
    if (!target) return;
    const [first, second] = args;
    // Our file system's refusals (a missing file, a non-empty folder) are answers to the client, not faults.
    if (first instanceof FileSystemError) target.debug({ reply: first.message }, 'ftp command refused');
    else if (typeof first === 'string') target.warn(first);
    else if (first instanceof Error) target.warn({ err: first }, typeof second === 'string' ? second : first.message);
    else if (first && typeof first === 'object') target.warn(first, typeof second === 'string' ? second : 'ftp-srv');
  };
  const log: BunyanLike = { trace: noop, debug: noop, info: noop, warn, error: warn, fatal: warn, child: () => log };
  return log;
}
