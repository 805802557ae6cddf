/**
 * The schema as knex migrations, one file a version in db/migrations/ (`NNN_name.ts`, exporting `up`
 * and `down`), listed here in code (not a directory scan) so they run the same from TypeScript
 * sources in tests and from dist/ in production. The names are what knex records in its
 * `knex_migrations` table: never rename one. Append new migrations (a file and a line below); never
 * edit one that has shipped. test/db/migrations.test.ts checks that this list and the folder agree.
 */
import type { Knex } from 'knex';
import * as initial from './migrations/001_initial';
import * as providerAndNotes from './migrations/002_provider_and_notes';
import * as inboxListing from './migrations/003_inbox_listing';
import * as fileStore from './migrations/004_file_store';
import * as contactPhones from './migrations/005_contact_phones';

export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** A migration named as its file is (without `.ts`). */
function version(name: string, m: Pick<Migration, 'up' | 'down'>): Migration {
  return { name, up: m.up, down: m.down };
}

export const migrations: Migration[] = [
  version('001_initial', initial),
  version('002_provider_and_notes', providerAndNotes),
  version('003_inbox_listing', inboxListing),
  version('004_file_store', fileStore),
  version('005_contact_phones', contactPhones),
];

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations,
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m,
};
