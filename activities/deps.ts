import type { AppConfig } from '../config/config';
import type { Db } from '../db/db';
import type { FileStore } from '../store/file-store';
import type { Logger } from '../common/logger';
import type { FtpPool } from '../ftp/pool';

/** What activities need from the outside; tests hand in real or fake ones. */
export interface ActivityDeps {
  cfg: AppConfig;
  db: Db;
  store: FileStore;
  log: Logger;
  /** Where FTP passwords are read from (R10); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  ftpTimeoutMs?: number;
  /** Logged-in FTP connections reused across activities (a worker has one); without it each activity logs in. */
  ftpPool?: FtpPool;
}
