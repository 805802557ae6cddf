/**
 * Schema as knex migrations, kept in code (not a directory scan) so they run the same from
 * TypeScript sources in tests and from dist/ in production. Append new migrations; never edit
 * one that has shipped.
 */
import type { Knex } from 'knex';
import { normPhone } from '../domain/contact';

interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

const initial: Migration = {
  name: '001_initial',
  async up(knex) {
    await knex.schema.createTable('tenants', (t) => {
      t.text('id').primary();
      t.text('name');
      t.timestamps(true, true);
    });
    // onOffice users of a tenant: objects are routed to them (R9).
    await knex.schema.createTable('users', (t) => {
      t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
      t.text('user_name').notNullable();
      t.boolean('active').notNullable().defaultTo(true);
      t.timestamps(true, true);
      t.primary(['tenant_id', 'user_name']);
    });

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

    await knex.schema.createTable('estate_contacts', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('estate_id').notNullable().references('estates.id').onDelete('CASCADE');
      t.bigInteger('address_id').notNullable().references('addresses.id').onDelete('CASCADE');
      t.text('role').notNullable(); // 'ansprechpartner' (R6), or weitere_adresse's adressart
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.unique(['estate_id', 'address_id', 'role']);
    });

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

    // Per-object outcome of each import (created/updated/unchanged/stale/archived/rejected …).
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

    // Parsed objects between parse and upsert; replaced on re-parse, deleted when the file is done.
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
  },
  async down(knex) {
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
  },
};

const providerAndNotes: Migration = {
  name: '002_provider_and_notes',
  async up(knex) {
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
  },
  async down(knex) {
    await knex.schema.alterTable('estates', (t) => t.dropColumn('provider_id'));
    await knex.schema.alterTable('import_files', (t) => t.dropColumn('notes'));
    await knex.schema.alterTable('estate_attachments', (t) => {
      t.dropColumn('file_name');
      t.dropColumn('warning');
    });
  },
};

/**
 * What the last batch saw in each tenant's inbox, for the workers' gauges and `imv-import status`
 * (db/inbox.ts). `inbox_watched_since` stands in for the last listing until there is one, so an
 * alert on "no listing for two intervals" also covers a tenant whose batches never listed.
 */
const inboxListing: Migration = {
  name: '003_inbox_listing',
  async up(knex) {
    await knex.schema.alterTable('tenants', (t) => {
      t.timestamp('inbox_watched_since', { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.timestamp('inbox_listed_at', { useTz: true });
      t.integer('inbox_files');
      t.timestamp('inbox_oldest_mtime', { useTz: true });
    });
  },
  async down(knex) {
    await knex.schema.alterTable('tenants', (t) => {
      t.dropColumn('inbox_watched_since');
      t.dropColumn('inbox_listed_at');
      t.dropColumn('inbox_files');
      t.dropColumn('inbox_oldest_mtime');
    });
  },
};

/**
 * The PostgreSQL file store (store/pg-store.ts): blobs by sha256, their content in 1 MiB chunks.
 * A blob's id comes from a sequence before its row is written, so the chunks can be written first
 * and the row last, in one transaction; the chunks' foreign key is checked at commit.
 */
const fileStore: Migration = {
  name: '004_file_store',
  async up(knex) {
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
  },
  async down(knex) {
    await knex.raw('DROP INDEX IF EXISTS import_files_sha256');
    await knex.raw('DROP INDEX IF EXISTS estate_attachments_sha256');
    await knex.schema.dropTableIfExists('store_chunks');
    await knex.schema.dropTableIfExists('store_blobs');
  },
};

/**
 * Contacts without a name or company that say how to reach the person become addresses (R2), matched
 * by e-mail, then phone, then postal address among addresses without a name (domain/contact.ts). The
 * phone keys (normPhone) get their own column, filled here for the addresses already stored.
 */
const contactPhones: Migration = {
  name: '005_contact_phones',
  async up(knex) {
    await knex.schema.alterTable('addresses', (t) => {
      t.specificType('norm_phones', 'text[]').notNullable().defaultTo('{}');
    });
    let after = 0;
    for (;;) {
      const rows: { id: string; phones: Record<string, string>; country: string | null }[] = await knex('addresses')
        .where('id', '>', after)
        .andWhereRaw("phones <> '{}'::jsonb")
        .orderBy('id')
        .limit(1000)
        .select('id', 'phones', 'country');
      if (!rows.length) break;
      for (const r of rows) {
        const keys = [...new Set(Object.values(r.phones).map((p) => normPhone(p, r.country)))].filter((k): k is string => k !== null);
        if (keys.length) await knex('addresses').where({ id: r.id }).update({ norm_phones: keys });
      }
      after = Number(rows[rows.length - 1]!.id);
    }
    await knex.raw('CREATE INDEX addresses_norm_phones_gin ON addresses USING gin (norm_phones)');
    await knex.raw('CREATE INDEX addresses_nameless_place ON addresses (tenant_id, norm_city, norm_street) WHERE norm_last IS NULL AND norm_company IS NULL');
  },
  async down(knex) {
    await knex.raw('DROP INDEX IF EXISTS addresses_nameless_place');
    await knex.raw('DROP INDEX IF EXISTS addresses_norm_phones_gin');
    await knex.schema.alterTable('addresses', (t) => t.dropColumn('norm_phones'));
  },
};

export const migrations: Migration[] = [initial, providerAndNotes, inboxListing, fileStore, contactPhones];

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations,
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m,
};
