/**
 * What the last batch saw in each tenant's inbox, for the workers' gauges and `imv-import status`
 * (db/inbox.ts). `inbox_watched_since` stands in for the last listing until there is one, so an
 * alert on "no listing for two intervals" also covers a tenant whose batches never listed.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tenants', (t) => {
    t.timestamp('inbox_watched_since', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('inbox_listed_at', { useTz: true });
    t.integer('inbox_files');
    t.timestamp('inbox_oldest_mtime', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tenants', (t) => {
    t.dropColumn('inbox_watched_since');
    t.dropColumn('inbox_listed_at');
    t.dropColumn('inbox_files');
    t.dropColumn('inbox_oldest_mtime');
  });
}
