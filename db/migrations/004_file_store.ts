/**
 * The PostgreSQL file store (store/pg-store.ts): blobs by sha256, their content in 1 MiB chunks.
 * A blob's id comes from a sequence before its row is written, so the chunks can be written first
 * and the row last, in one transaction; the chunks' foreign key is checked at commit.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE SEQUENCE store_blob_ids');
  await knex.raw(`
      CREATE TABLE store_blobs (
        sha256 text PRIMARY KEY,
        id bigint NOT NULL UNIQUE DEFAULT nextval('store_blob_ids'),
        size bigint NOT NULL,
        chunks integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        -- last stored or fetched again: garbage collection keeps anything used within its grace period
        used_at timestamptz NOT NULL DEFAULT now()
      )`);
  await knex.raw('ALTER SEQUENCE store_blob_ids OWNED BY store_blobs.id');
  await knex.raw(`
      CREATE TABLE store_chunks (
        blob_id bigint NOT NULL REFERENCES store_blobs (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
        seq integer NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (blob_id, seq)
      )`);
  // Garbage collection looks up references by hash.
  await knex.raw('CREATE INDEX IF NOT EXISTS estate_attachments_sha256 ON estate_attachments (sha256)');
  await knex.raw('CREATE INDEX IF NOT EXISTS import_files_sha256 ON import_files (sha256)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS import_files_sha256');
  await knex.raw('DROP INDEX IF EXISTS estate_attachments_sha256');
  await knex.schema.dropTableIfExists('store_chunks');
  await knex.schema.dropTableIfExists('store_blobs');
}
