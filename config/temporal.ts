/**
 * Where and how every process connects to Temporal: the worker, every CLI command and `status` use
 * this one module, so they connect the way the Temporal CLI does. Settings come from Temporal's
 * environment configuration (@temporalio/envconfig, shared with the `temporal` CLI):
 * `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`, and profiles in a
 * `temporal.toml` (`TEMPORAL_PROFILE`, `TEMPORAL_CONFIG_FILE`, else ~/.config/temporalio/temporal.toml).
 *
 * Precedence, per setting: the environment, then the TOML profile, then the config file's `temporal`
 * section, then the defaults (127.0.0.1:7233, namespace `default`). TLS and keys come only from the
 * environment or the profile (secrets stay out of the config file). An API key turns TLS on unless
 * TLS is explicitly disabled, as in the CLI.
 *
 * Secrets (the key, the private key) never reach AppConfig, a log line or an error message: they are
 * read again from the same sources when a connection is made.
 */
import fs from 'node:fs';
import tls from 'node:tls';
import net from 'node:net';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { ConfigError } from './errors';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

/** The config file's `temporal` section, as parsed (all optional). */
export interface TemporalFileSection {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  /** A profile of the TOML file to use when TEMPORAL_PROFILE is not set. */
  profile?: string;
}

/** What may be shown and logged about the connection: no secret. */
export interface TemporalTarget {
  address: string;
  namespace: string;
  /** The TOML profile used, if a file was read and had it. */
  profile: string | null;
  /** `none`, `tls` (server verified), `mtls` (and a client certificate), plus `api-key` when a key is sent. */
  security: string;
}

/** Connection options for @temporalio/client's Connection and @temporalio/worker's NativeConnection. */
export type TemporalConnectOptions = Pick<NativeConnectionOptions, 'tls' | 'apiKey' | 'metadata'> & { address: string };

function loadProfile(file: TemporalFileSection, env: NodeJS.ProcessEnv): { profile: ClientConfigProfile; name: string | null } {
  const name = env.TEMPORAL_PROFILE ?? file.profile;
  const configFile = env.TEMPORAL_CONFIG_FILE;
  if (configFile && !fs.existsSync(configFile)) throw new ConfigError(`TEMPORAL_CONFIG_FILE=${configFile}: no such file`);
  try {
    const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
    try {
      return { profile: loadClientConfigProfile({ profile: name, overrideEnvVars: vars }), name: name ?? null };
    } catch (e) {
      // envconfig 1.24 fails with a TypeError on a TOML file without any [profile.…] table (an
      // empty file, say): that file has no profiles, so only the environment applies.
      if (!(e instanceof TypeError)) throw e;
      if (name) throw new Error(`Profile '${name}' not found in config data (it has no profiles)`);
      return { profile: loadClientConfigProfile({ disableFile: true, overrideEnvVars: vars }), name: null };
    }
  } catch (e) {
    // envconfig's messages name the profile or the key, never a value.
    throw new ConfigError(`Temporal connection profile${name ? ` "${name}"` : ''}: ${(e as Error).message}`);
  }
}

function securityOf(profile: ClientConfigProfile, tls: TLSConfig | boolean | null | undefined): string {
  const parts: string[] = [];
  if (!tls) parts.push('none');
  else if (typeof tls === 'object' && tls.clientCertPair) parts.push('mtls');
  else parts.push('tls');
  if (profile.apiKey) parts.push('api-key');
  return parts.join('+');
}

function resolve(file: TemporalFileSection, env: NodeJS.ProcessEnv): { target: TemporalTarget; options: TemporalConnectOptions } {
  const { profile, name } = loadProfile(file, env);
  const tlsProfile = profile.tls;
  if (tlsProfile && !tlsProfile.disabled && !!tlsProfile.clientCert !== !!tlsProfile.clientKey) {
    throw new ConfigError(
      `Temporal TLS: a client certificate needs its key and a key its certificate (TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or the profile's tls.client_cert_path and tls.client_key_path)`,
    );
  }
  let connect;
  try {
    connect = toClientOptions(profile);
  } catch (e) {
    // A certificate or key file that cannot be read: the message names the path.
    throw new ConfigError(`Temporal TLS: ${(e as Error).message}`);
  }
  const address = profile.address ?? file.address ?? DEFAULT_TEMPORAL_ADDRESS;
  const namespace = connect.namespace ?? file.namespace ?? DEFAULT_TEMPORAL_NAMESPACE;
  const { tls, apiKey, metadata } = connect.connectionOptions;
  return {
    target: { address, namespace, profile: name, security: securityOf(profile, tls) },
    options: { address, tls, apiKey, metadata },
  };
}

/** The address, namespace and kind of security to show and log; throws ConfigError for a bad profile. */
export function temporalTarget(file: TemporalFileSection, env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  return resolve(file, env).target;
}

/**
 * The options to connect with, secrets included: pass them to Connection.connect /
 * NativeConnection.connect only. The address is the one the configuration resolved to; TLS and the
 * key are read from the environment and the profile now.
 */
export function temporalConnectOptions(t: { address: string; file: TemporalFileSection }, env: NodeJS.ProcessEnv = process.env): TemporalConnectOptions {
  return { ...resolve(t.file, env).options, address: t.address };
}

/**
 * One short line for a failed connection: the address, how it connected, and the cause in words an
 * operator can act on. gRPC's and rustls's texts are long and technical; the key never appears
 * (it is also cut out should a server echo it).
 */
export function temporalConnectionError(target: TemporalTarget, e: unknown, apiKey?: string): string {
  const raw = e instanceof Error ? `${e.message} ${String((e as { cause?: unknown }).cause ?? '')}` : String(e);
  const text = apiKey ? raw.split(apiKey).join('<key>') : raw;
  const cause = connectionCause(text, target);
  const how = target.security === 'none' ? 'without TLS' : `with ${target.security.replace('+', ' and ')}`;
  const profile = target.profile ? `, profile ${target.profile}` : '';
  return `cannot connect to Temporal at ${target.address} (${how}${profile}): ${cause}`;
}

function connectionCause(text: string, target: TemporalTarget): string {
  const t = text.toLowerCase();
  if (/unknownissuer|self[- ]signed|unable to verify|certificate verify failed|unable to get (local )?issuer|depth_zero|self_signed/.test(t))
    return "the server's certificate is not signed by the trusted CA (TEMPORAL_TLS_SERVER_CA_CERT_PATH, or the profile's tls.server_ca_cert_path)";
  if (/notvalidforname|hostname|altnames|does not match|subject alternative|invalid peer certificate: notvalidforname/.test(t))
    return "the server's certificate is not valid for this address (set TEMPORAL_TLS_SERVER_NAME to the name it is issued for)";
  if (/certificate required|bad certificate|certificaterequired|alert unknown ca|alert bad certificate|handshake/.test(t)) {
    return target.security.includes('mtls')
      ? 'the server refused the TLS handshake (is the client certificate issued by a CA the server trusts?)'
      : 'the server requires a client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH)';
  }
  if (/wrong version number|packet length too long|http2 error|frame with invalid size|invalid http version|corrupt message/.test(t))
    return target.security === 'none'
      ? 'the server speaks TLS: enable it (TEMPORAL_TLS=true, or a profile with tls)'
      : 'the server does not speak TLS here (TEMPORAL_TLS=false?)';
  if (/permission_denied|permissiondenied|unauthenticated|unauthorized|request unauthorized/.test(t))
    return target.security.includes('api-key')
      ? 'the API key was refused (not valid, expired, or without permission on this namespace)'
      : 'the server requires authorization (an API key: TEMPORAL_API_KEY, or a profile with api_key)';
  if (/econnrefused|connection refused/.test(t)) return 'connection refused (is the server running, and is the address right?)';
  if (/enotfound|name resolution|failed to lookup|dns/.test(t)) return 'the host name does not resolve';
  if (/deadline|timed? ?out|timeout/.test(t)) return 'no answer in time';
  const first = text.replace(/\s+/g, ' ').trim();
  return first.length > 200 ? `${first.slice(0, 199)}…` : first;
}

/** `host:port` of a Temporal address (port 7233 when none is given). */
function hostAndPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return i > 0 ? { host: address.slice(0, i), port: Number(address.slice(i + 1)) } : { host: address, port: 7233 };
}

/**
 * Why a TLS connection fails, asked of Node's own TLS with the same CA, certificate and server name:
 * gRPC clients often report only "no connection before the deadline" while they keep retrying a
 * handshake the server or the client refuses. Null when the handshake succeeds, or TLS is off.
 */
export async function diagnoseTls(options: TemporalConnectOptions, timeoutMs = 5000): Promise<string | null> {
  if (!options.tls) return null;
  const t = options.tls === true ? {} : options.tls;
  const { host, port } = hostAndPort(options.address);
  const servername = t.serverNameOverride ?? (net.isIP(host) ? undefined : host);
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      servername,
      ca: t.serverRootCACertificate ? Buffer.from(t.serverRootCACertificate) : undefined,
      cert: t.clientCertPair ? Buffer.from(t.clientCertPair.crt) : undefined,
      key: t.clientCertPair ? Buffer.from(t.clientCertPair.key) : undefined,
      ALPNProtocols: ['h2'],
      checkServerIdentity: (name, cert) => tls.checkServerIdentity(servername ?? name, cert),
    });
    const done = (v: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    // With TLS 1.3 the server refuses a client certificate after the handshake: wait for that alert.
    socket.once('secureConnect', () => setTimeout(() => done(null), 500));
    socket.once('error', (e: NodeJS.ErrnoException) => done(`${e.code ?? ''} ${e.message}`));
  });
}

/** temporalConnectionError, with the TLS handshake asked when the client's own error does not say why. */
export async function explainTemporalConnectFailure(target: TemporalTarget, options: TemporalConnectOptions, e: unknown): Promise<string> {
  const line = temporalConnectionError(target, e, options.apiKey);
  if (!/no answer in time|UNAVAILABLE|transport error/i.test(line)) return line;
  const cause = options.tls ? await diagnoseTls(options).catch(() => null) : await probeTcp(options.address);
  return cause ? temporalConnectionError(target, new Error(cause), options.apiKey) : line;
}

/** Whether anything listens at host:port (gRPC reports a refused port as a deadline); null when it does. */
async function probeTcp(address: string, timeoutMs = 3000): Promise<string | null> {
  const { host, port } = hostAndPort(address);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (v: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.once('connect', () => done(null));
    socket.once('error', (e: NodeJS.ErrnoException) => done(`${e.code ?? ''} ${e.message}`));
  });
}

/** A request refused by the server's authorization (gRPC PERMISSION_DENIED or UNAUTHENTICATED), anywhere in the cause chain. */
export function isTemporalAuthError(e: unknown): boolean {
  for (let c: unknown = e, depth = 0; c && typeof c === 'object' && depth < 10; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (code === 7 || code === 16) return true;
    if (/PERMISSION_DENIED|PermissionDenied|UNAUTHENTICATED|Request unauthorized/.test(String((c as { message?: unknown }).message ?? ''))) return true;
  }
  return false;
}

/** One line for a request the server's authorization refused after the connection was made. */
export function temporalRefusal(target: TemporalTarget): string {
  const how = target.security.includes('api-key')
    ? `the API key was refused for this request (it needs write permission on namespace ${target.namespace}; check the key's permissions and expiry)`
    : 'the server requires authorization (an API key: TEMPORAL_API_KEY, or a profile with api_key)';
  return `Temporal at ${target.address} refused the request: ${how}`;
}
