/** Opens the file store the configuration names (the interface: store/file-store.ts). */
import type { AppConfig } from '../config/config';
import type { Db } from '../db/db';
import type { FileStore } from './file-store';
import { FsFileStore } from './fs-store';
import { PgFileStore } from './pg-store';

/** The store the configuration names; the PostgreSQL store lives in `db` (the worker's pool). */
export function createFileStore(cfg: AppConfig, db: Db): FileStore {
  return cfg.fileStore.kind === 'postgres' ? new PgFileStore(db, cfg.fileStore.dir) : new FsFileStore(cfg.fileStore.dir);
}
