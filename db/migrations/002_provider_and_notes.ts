/** The sending provider of each estate (the scope of a mirror), file-level notes, and attachments' names and warnings. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('estates', (t) => {
    // The sending provider (openimmo_anid, else anbieternr): the scope of a mirror (VOLL) transfer.
    t.text('provider_id');
    t.index(['tenant_id', 'provider_id']);
  });
  await knex.schema.alterTable('import_files', (t) => {
    // File-level notes that are not errors (mirror refused, attachments missing …).
    t.jsonb('notes').notNullable().defaultTo('[]');
  });
  await knex.schema.alterTable('estate_attachments', (t) => {
    t.text('file_name');
    t.text('warning');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('estates', (t) => t.dropColumn('provider_id'));
  await knex.schema.alterTable('import_files', (t) => t.dropColumn('notes'));
  await knex.schema.alterTable('estate_attachments', (t) => {
    t.dropColumn('file_name');
    t.dropColumn('warning');
  });
}
