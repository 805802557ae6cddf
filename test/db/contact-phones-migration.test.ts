/**
 * Migration 005 on real PostgreSQL: addresses stored before it get their phone keys (normPhone), so a
 * nameless owner imported afterwards finds them by phone; a later migrate is a no-op.
 */
import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../db/db';
import { migrations } from '../../db/migrations';
import { useDatabase } from '../support/database';

describe('migration 005_contact_phones', () => {
  const pg = useDatabase({ migrated: false });

  it('fills norm_phones of the addresses already stored, and indexes it', async () => {
    const db = pg.db;
    const before = migrations.slice(
      0,
      migrations.findIndex((m) => m.name === '005_contact_phones'),
    );
    type M = (typeof before)[number];
    const upTo004: Knex.MigrationSource<M> = { getMigrations: async () => before, getMigrationName: (m) => m.name, getMigration: async (m) => m };
    await db.migrate.latest({ migrationSource: upTo004 });
    await db('tenants').insert({ id: 't' });
    const row = (phones: Record<string, string>, country: string | null) => ({
      tenant_id: 't',
      last_name: 'Alt',
      phones: JSON.stringify(phones),
      country,
      contact_origin: 'IMV',
      status: 'Aktiv',
    });
    await db('addresses').insert([
      row({ tel_privat: '0221 5550123', tel_handy: '+49 221 555-0123', tel_fax: '12' }, 'DEU'),
      row({ tel_privat: '0662 555012' }, 'AUT'),
      row({}, null),
    ]);

    await migrate(db);
    const keys = await db('addresses').orderBy('id').pluck('norm_phones');
    expect(keys).toEqual([['+492215550123'], ['+43662555012'], []]);
    const idx = await db.raw("SELECT indexname FROM pg_indexes WHERE tablename = 'addresses' AND indexname LIKE 'addresses_n%'");
    expect(idx.rows.map((r: { indexname: string }) => r.indexname).sort()).toEqual([
      'addresses_nameless_place',
      'addresses_norm_emails_gin',
      'addresses_norm_phones_gin',
    ]);
    await migrate(db); // nothing left to run
  });
});
