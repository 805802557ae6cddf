/**
 * The first schema: tenants and their users, the import ledger (import_files, import_objects), staging,
 * and the CRM's estates, addresses, their links and attachments. One function a table.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await createTenants(knex);
  await createUsers(knex);
  await createImportFiles(knex);
  await createEstates(knex);
  await createAddresses(knex);
  await createEstateContacts(knex);
  await createEstateAttachments(knex);
  await createImportObjects(knex);
  await createStagedObjects(knex);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'staged_objects',
    'import_objects',
    'estate_attachments',
    'estate_contacts',
    'addresses',
    'estates',
    'import_files',
    'users',
    'tenants',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}

async function createTenants(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenants', (t) => {
    t.text('id').primary();
    t.text('name');
    t.timestamps(true, true);
  });
}

/** onOffice users of a tenant: objects are routed to them (R9). */
async function createUsers(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('user_name').notNullable();
    t.boolean('active').notNullable().defaultTo(true);
    t.timestamps(true, true);
    t.primary(['tenant_id', 'user_name']);
  });
}

/** The import ledger: one row a file (a replay gets a row of its own). */
async function createImportFiles(knex: Knex): Promise<void> {
  await knex.schema.createTable('import_files', (t) => {
    t.bigIncrements('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id');
    t.text('remote_path').notNullable();
    t.text('file_name').notNullable();
    t.bigInteger('size').notNullable();
    t.timestamp('mtime', { useTz: true }).notNullable();
    t.text('sha256');
    // importing | imported | partial | failed | duplicate | error (transient, will be retried)
    t.text('status').notNullable().defaultTo('importing');
    t.text('error_type');
    t.text('error_message');
    t.integer('objects_total').notNullable().defaultTo(0);
    t.integer('created').notNullable().defaultTo(0);
    t.integer('updated').notNullable().defaultTo(0);
    t.integer('unchanged').notNullable().defaultTo(0);
    t.integer('archived').notNullable().defaultTo(0);
    t.integer('stale').notNullable().defaultTo(0);
    t.integer('rejected').notNullable().defaultTo(0);
    t.integer('warnings').notNullable().defaultTo(0);
    t.text('workflow_id').notNullable().unique();
    t.text('run_id');
    t.bigInteger('replay_of').references('import_files.id');
    t.bigInteger('duplicate_of').references('import_files.id');
    // Transfer header and provider info (no personal data), needed to resolve users and staleness.
    t.jsonb('meta').notNullable().defaultTo('{}');
    t.text('archived_path');
    t.integer('attempts').notNullable().defaultTo(1);
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
    t.index(['tenant_id', 'started_at']);
    t.index(['tenant_id', 'sha256']);
    t.index(['tenant_id', 'status']);
  });
}

async function createEstates(knex: Knex): Promise<void> {
  await knex.schema.createTable('estates', (t) => {
    t.bigIncrements('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id');
    t.text('source').notNullable(); // 'IMV'
    t.text('source_id').notNullable(); // the IMV object id: the immutable match key (R4, R8)
    t.text('external_number').notNullable(); // objektnr_extern, set on creation only (R4)
    t.text('status').notNullable().defaultTo('inaktiv'); // set on creation only (R3)
    t.boolean('archived').notNullable().defaultTo(false);
    t.timestamp('archived_at', { useTz: true });
    t.boolean('reference').notNullable().defaultTo(false);
    t.timestamp('published_at', { useTz: true });
    t.text('user_name').notNullable();
    t.text('warning_note').notNullable(); // 'IMV Import' (R5)
    estateFields(t);
    t.jsonb('fields').notNullable().defaultTo('{}'); // all typed estate fields as mapped
    t.jsonb('data').notNullable(); // the immobilie element, losslessly
    t.text('source_stand'); // verwaltung_techn/stand_vom
    t.text('source_timestamp'); // uebertragung/@timestamp
    t.timestamp('source_file_time', { useTz: true });
    t.text('content_hash').notNullable();
    t.bigInteger('last_import_id').references('import_files.id');
    t.timestamps(true, true);
    t.unique(['tenant_id', 'source', 'source_id']);
    t.index(['tenant_id', 'status']);
    t.index(['tenant_id', 'external_number']);
  });
}

/** The estate's typed columns: kind, place, prices, areas (in this order, between warning_note and fields). */
function estateFields(t: Knex.CreateTableBuilder): void {
  t.text('kind');
  t.text('kind_type');
  t.text('marketing_type');
  t.text('usage_type');
  t.text('street');
  t.text('house_number');
  t.text('zip');
  t.text('city');
  t.text('district');
  t.text('country');
  t.double('latitude');
  t.double('longitude');
  t.text('floor');
  t.boolean('address_publishable');
  t.decimal('purchase_price', 14, 2);
  t.decimal('cold_rent', 12, 2);
  t.decimal('warm_rent', 12, 2);
  t.decimal('additional_costs', 12, 2);
  t.text('currency');
  t.decimal('living_area', 12, 2);
  t.decimal('usable_area', 12, 2);
  t.decimal('plot_area', 14, 2);
  t.decimal('rooms', 6, 1);
  t.integer('year_built');
  t.text('title');
}

async function createAddresses(knex: Knex): Promise<void> {
  await knex.schema.createTable('addresses', (t) => {
    t.bigIncrements('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id');
    t.text('external_person_id');
    t.text('salutation');
    t.text('title');
    t.text('first_name');
    t.text('last_name');
    t.text('company');
    t.text('street');
    t.text('house_number');
    t.text('zip');
    t.text('city');
    t.text('country');
    t.jsonb('emails').notNullable().defaultTo('{}');
    t.jsonb('phones').notNullable().defaultTo('{}');
    t.text('url');
    t.text('contact_origin').notNullable(); // Herkunft Kontakt: 'IMV' (R7)
    t.text('status').notNullable(); // 'Aktiv' (R7)
    t.text('user_name');
    // Normalized match keys for onOffice's de-duplication steps.
    t.text('norm_last');
    t.text('norm_first');
    t.text('norm_city');
    t.text('norm_street');
    t.text('norm_company');
    t.specificType('norm_emails', 'text[]').notNullable().defaultTo('{}');
    t.timestamps(true, true);
    t.index(['tenant_id', 'external_person_id']);
    t.index(['tenant_id', 'norm_last', 'norm_first', 'norm_city', 'norm_street']);
  });
  await knex.raw('CREATE INDEX addresses_norm_emails_gin ON addresses USING gin (norm_emails)');
}

async function createEstateContacts(knex: Knex): Promise<void> {
  await knex.schema.createTable('estate_contacts', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('estate_id').notNullable().references('estates.id').onDelete('CASCADE');
    t.bigInteger('address_id').notNullable().references('addresses.id').onDelete('CASCADE');
    t.text('role').notNullable(); // 'ansprechpartner' (R6), or weitere_adresse's adressart
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['estate_id', 'address_id', 'role']);
  });
}

async function createEstateAttachments(knex: Knex): Promise<void> {
  await knex.schema.createTable('estate_attachments', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('estate_id').notNullable().references('estates.id').onDelete('CASCADE');
    t.integer('position').notNullable();
    t.text('group');
    t.text('title');
    t.text('format');
    t.text('sha256'); // content in the file store
    t.text('url'); // or a link
    t.bigInteger('size');
    t.unique(['estate_id', 'position']);
  });
}

/** Per-object outcome of each import (created/updated/unchanged/stale/archived/rejected …). */
async function createImportObjects(knex: Knex): Promise<void> {
  await knex.schema.createTable('import_objects', (t) => {
    t.bigInteger('import_id').notNullable().references('import_files.id').onDelete('CASCADE');
    t.integer('position').notNullable();
    t.text('source_id');
    t.text('action');
    t.text('outcome').notNullable();
    t.bigInteger('estate_id');
    t.jsonb('messages').notNullable().defaultTo('[]');
    t.primary(['import_id', 'position']);
  });
}

/** Parsed objects between parse and upsert; replaced on re-parse, deleted when the file is done. */
async function createStagedObjects(knex: Knex): Promise<void> {
  await knex.schema.createTable('staged_objects', (t) => {
    t.bigInteger('import_id').notNullable().references('import_files.id').onDelete('CASCADE');
    t.integer('position').notNullable();
    t.text('source_id');
    t.jsonb('payload').notNullable();
    t.bigInteger('estate_id');
    t.text('outcome');
    t.jsonb('messages').notNullable().defaultTo('[]');
    t.jsonb('address_ids').notNullable().defaultTo('[]');
    t.primary(['import_id', 'position']);
  });
}
