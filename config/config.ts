/**
 * Configuration: tenants (each an onOffice customer with its "openimmo Import" FTP account),
 * and where Temporal, PostgreSQL and the file store are.
 *
 * Credentials never live in the config file: a tenant names the environment variable holding its
 * FTP password (R10). Workflows only ever see a tenant id; activities resolve the rest here.
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { z } from 'zod';
import { ConfigError } from './errors';
import { temporalTarget, type TemporalTarget } from './temporal';
import { durationSeconds } from '../common/duration';

const ScheduleOptions = z
  .object({
    intervalMinutes: z.number().int().positive().default(30),
    /** How far back a missed run (server down) is still caught up; the SDK default is a year. */
    catchupWindowMinutes: z.number().int().positive().default(60),
    paused: z.boolean().default(false),
  })
  .default({});

const MirrorOptions = z
  .object({
    enabled: z.boolean().default(false),
    /** Refuse to archive more than this share of the provider's active estates in one full transfer. */
    maxArchiveShare: z.number().min(0).max(1).default(0.5),
  })
  .default({});

const TenantOptions = z
  .object({
    /** A file younger than this is assumed to be still uploading. */
    minFileAgeSeconds: z.number().min(0).default(60),
    /** Two listings this far apart must agree on size and mtime before a file is taken. */
    stableCheckMs: z.number().int().min(0).default(2000),
    /**
     * Sliding window of ImportFile children per batch. With 8, a small file's round trips left the
     * two cores of the benchmark machine a quarter idle; 24 keeps them busy (docs/benchmarks.md, 2026-12-05). A big
     * file's steps still wait for the worker's activity slots, and FTP for the tenant's maxConnections.
     */
    maxConcurrentFiles: z.number().int().positive().default(24),
    /** Staged objects per upsert activity (one transaction each). */
    chunkSize: z.number().int().positive().default(500),
    /**
     * Files up to this size (IMV's everyday one-object transfers) run every step as a local activity
     * on the worker that runs the file's workflow: the same steps, retried and idempotent, without a
     * round trip through the server per step. Bigger files run them as regular activities (heartbeats,
     * any worker). 0 turns it off.
     */
    localStepsMaxBytes: z
      .number()
      .int()
      .min(0)
      .default(256 * 1024),
    /** Write an openimmo_feedback document to feedback/ after each file. */
    feedback: z.boolean().default(true),
    mirror: MirrorOptions,
    schedule: ScheduleOptions,
    /** Paths of the IMV-specific facts (design.md §2); the defaults follow IMV's conventions. */
    userField: z.string().default('onoffice_benutzer'),
  })
  .default({});

/** FTP connections one worker holds to a tenant's server at once, unless its ftp.maxConnections says otherwise. */
export const DEFAULT_FTP_CONNECTIONS = 8;

const TenantSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'tenant id: lower-case letters, digits, - and _ (it is part of workflow ids)'),
  name: z.string().optional(),
  ftp: z.object({
    /** ftp://user@host:port/base or ftps://… (explicit FTPS). The base folder is the inbox. */
    url: z.string(),
    /** Environment variable with the password; default IMV_FTP_PASSWORD_<TENANT>. */
    passwordEnv: z.string().optional(),
    /** Accept self-signed certificates on FTPS (test servers). */
    insecureTls: z.boolean().default(false),
    /**
     * Connections one worker holds to this server at once (FTP servers often limit them per account);
     * a further operation waits for one to come free.
     */
    maxConnections: z.number().int().positive().default(DEFAULT_FTP_CONNECTIONS),
  }),
  users: z.array(z.string().min(1)).default([]),
  defaultUser: z.string().nullable().default(null),
  options: TenantOptions,
});

const ConfigSchema = z.object({
  tenants: z.array(TenantSchema).min(1),
  /**
   * Where Temporal is (config/temporal.ts): the environment (TEMPORAL_ADDRESS, …) and a temporal.toml
   * profile win over these; TLS and API keys come only from those two.
   */
  temporal: z
    .object({
      address: z.string().optional(),
      namespace: z.string().optional(),
      taskQueue: z.string().default('imv-import'),
      /** The temporal.toml profile to use when TEMPORAL_PROFILE is not set. */
      profile: z
        .string()
        .nullish()
        .transform((v) => v ?? undefined),
    })
    .default({}),
  databaseUrl: z.string().optional(),
  /** Caps every process's connection pool (the embedded single-connection PostgreSQL needs 1). */
  databasePoolMax: z.number().int().positive().optional(),
  /**
   * Content-addressed store of fetched transfers and attachments. `fs`: a directory (one host, or a
   * volume every worker mounts). `postgres`: in the database (workers on several hosts share no
   * disk); `dir` is then this host's scratch folder for local copies of ZIPs being read.
   */
  fileStore: z
    .object({
      kind: z.enum(['fs', 'postgres']).default('fs'),
      dir: z.string().optional(),
      /** Fetched transfers are kept this long after their last import (replay needs them); see `imv-import store gc`. */
      retentionDays: z.number().int().positive().default(90),
      /** How often the garbage collection schedule runs; 0: no schedule (run `imv-import store gc` yourself). */
      gcIntervalHours: z.number().int().min(0).default(24),
    })
    .default({}),
  /** Before `fileStore`: the `fs` store's directory (still read when fileStore.dir is not set). */
  fileStoreDir: z.string().optional(),
  metricsPort: z.number().int().min(0).optional(),
  worker: z
    .object({
      maxConcurrentActivities: z.number().int().positive().default(8),
      maxConcurrentWorkflowTasks: z.number().int().positive().default(40),
      /** SIGTERM: in-flight activities get this long to finish before they are handed back. */
      shutdownGraceSeconds: z.number().int().min(0).default(30),
      /**
       * Heartbeat timeout of the long activities (fetch, parse, upsert chunks, attachments): a crashed
       * worker's activity is retried on another worker after this long, not after its start-to-close.
       */
      heartbeatTimeoutSeconds: z.number().int().positive().default(30),
      /**
       * An import still `importing` after this long is stuck (`90m`, `2h`, `1d`): the worker's check, `imports`
       * and `replay`. IMV_STUCK_AFTER and --stuck-after override it; default 2h.
       */
      stuckAfter: z
        .string()
        .refine((v) => (durationSeconds(v) ?? 0) > 0, 'a positive duration such as 90m, 2h or 1d')
        .optional(),
      /**
       * Worker Versioning (config/deployment.ts): with a deployment name the worker polls as one version
       * of that deployment (name + build id, default `<package version>+<git revision>`). Without one,
       * the worker is unversioned (the dev server, `imv-import dev`, the tests).
       */
      deployment: z
        .object({
          name: z
            .string()
            .regex(/^[^.\s]+$/, 'deployment name: no dots or spaces')
            .optional(),
          buildId: z.string().min(1).optional(),
        })
        .strict()
        .default({}),
    })
    .default({}),
});

export type TenantConfig = z.infer<typeof TenantSchema>;
export type FileStoreConfig = { kind: 'fs' | 'postgres'; dir: string; retentionDays: number; gcIntervalHours: number };
/** The resolved Temporal settings (no secret: those are read again when connecting, config/temporal.ts). */
export type TemporalConfig = TemporalTarget & {
  taskQueue: string;
  /** The config file's own section, the lowest precedence. */ file: z.infer<typeof ConfigSchema>['temporal'];
};
export type AppConfig = Omit<z.infer<typeof ConfigSchema>, 'fileStore' | 'fileStoreDir' | 'temporal'> & {
  databaseUrl: string;
  fileStore: FileStoreConfig;
  temporal: TemporalConfig;
};

export { ConfigError };

export interface FtpAccess {
  host: string;
  port: number;
  user: string;
  password: string;
  secure: boolean;
  insecureTls: boolean;
  /** Inbox folder (absolute path on the server, no trailing slash except for root). */
  baseDir: string;
  /** At most this many connections of one worker at once (the worker's pool waits for one); default DEFAULT_FTP_CONNECTIONS. */
  maxConnections?: number;
}

/** Parses and validates a config object; environment fills what the file leaves open. */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): AppConfig {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const msg = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${msg}`);
  }
  const cfg = result.data;
  const secrets = Object.keys((raw as { temporal?: object }).temporal ?? {}).filter((k) => /^(api_?key|tls)$/i.test(k));
  if (secrets.length) {
    throw new ConfigError(
      `temporal.${secrets[0]}: TLS and API keys come from the environment (TEMPORAL_API_KEY, TEMPORAL_TLS_*) or a temporal.toml profile, not from this file`,
    );
  }
  const ids = new Set<string>();
  for (const t of cfg.tenants) {
    if (ids.has(t.id)) throw new ConfigError(`tenant ${t.id} is configured twice`);
    ids.add(t.id);
    const u = parseFtpUrl(t.ftp.url, t.id);
    if (u.password) throw new ConfigError(`tenant ${t.id}: put the FTP password in the environment, not in ftp.url`);
    if (t.defaultUser && !t.users.includes(t.defaultUser)) {
      throw new ConfigError(`tenant ${t.id}: defaultUser ${t.defaultUser} is not one of its users`);
    }
  }
  const { fileStoreDir: _legacyDir, ...rest } = cfg;
  return {
    ...rest,
    temporal: {
      ...temporalTarget(cfg.temporal, env),
      taskQueue: env.TEMPORAL_TASK_QUEUE ?? cfg.temporal.taskQueue,
      file: cfg.temporal,
    },
    databaseUrl: env.DATABASE_URL ?? cfg.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/imv_import',
    fileStore: fileStoreOf(cfg, env),
    metricsPort: env.METRICS_PORT !== undefined ? Number(env.METRICS_PORT) : cfg.metricsPort,
    worker: {
      ...cfg.worker,
      // IMV_DEPLOYMENT_NAME and IMV_BUILD_ID override the file ("" turns versioning off).
      deployment: {
        name: (env.IMV_DEPLOYMENT_NAME ?? cfg.worker.deployment.name) || undefined,
        buildId: (env.IMV_BUILD_ID ?? cfg.worker.deployment.buildId) || undefined,
      },
    },
  };
}

/** The file store: IMV_FILE_STORE_KIND and IMV_FILE_STORE (its folder) override the file. */
function fileStoreOf(cfg: z.infer<typeof ConfigSchema>, env: NodeJS.ProcessEnv): FileStoreConfig {
  const kind = env.IMV_FILE_STORE_KIND ?? cfg.fileStore.kind;
  if (kind !== 'fs' && kind !== 'postgres') throw new ConfigError(`IMV_FILE_STORE_KIND must be fs or postgres, not ${JSON.stringify(kind)}`);
  const fallback = path.join(os.homedir(), '.cache', 'imv-import', kind === 'fs' ? 'store' : 'scratch');
  const dir = path.resolve(env.IMV_FILE_STORE ?? cfg.fileStore.dir ?? (kind === 'fs' ? cfg.fileStoreDir : undefined) ?? fallback);
  return { kind, dir, retentionDays: cfg.fileStore.retentionDays, gcIntervalHours: cfg.fileStore.gcIntervalHours };
}

export function loadConfig(file = process.env.IMV_CONFIG, env: NodeJS.ProcessEnv = process.env): AppConfig {
  if (!file) throw new ConfigError('no configuration: set IMV_CONFIG to a JSON file (see README, "Configuration")');
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot read configuration ${file}: ${(e as Error).message}`);
  }
  try {
    return parseConfig(raw, env);
  } catch (e) {
    throw e instanceof ConfigError ? new ConfigError(`${file}: ${e.message}`) : e;
  }
}

export function tenantOf(cfg: AppConfig, tenantId: string): TenantConfig {
  const t = cfg.tenants.find((x) => x.id === tenantId);
  if (!t) throw new ConfigError(`unknown tenant ${tenantId} (configured: ${cfg.tenants.map((x) => x.id).join(', ')})`);
  return t;
}

function parseFtpUrl(url: string, tenant: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`tenant ${tenant}: ftp.url is not a URL`);
  }
  if (u.protocol !== 'ftp:' && u.protocol !== 'ftps:') throw new ConfigError(`tenant ${tenant}: ftp.url must be ftp:// or ftps://`);
  return u;
}

export function passwordEnvName(t: TenantConfig): string {
  return t.ftp.passwordEnv ?? `IMV_FTP_PASSWORD_${t.id.toUpperCase().replace(/-/g, '_')}`;
}

/** Resolves the tenant's FTP access, password from the environment. Only activities call this. */
export function ftpAccessOf(t: TenantConfig, env: NodeJS.ProcessEnv = process.env): FtpAccess {
  const u = parseFtpUrl(t.ftp.url, t.id);
  const envName = passwordEnvName(t);
  const password = env[envName];
  if (password === undefined) throw new ConfigError(`tenant ${t.id}: environment variable ${envName} (FTP password) is not set`);
  let baseDir = decodeURIComponent(u.pathname || '/');
  if (baseDir.length > 1) baseDir = baseDir.replace(/\/+$/, '');
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 21,
    user: decodeURIComponent(u.username || 'anonymous'),
    password,
    secure: u.protocol === 'ftps:',
    insecureTls: t.ftp.insecureTls,
    baseDir,
    maxConnections: t.ftp.maxConnections,
  };
}
