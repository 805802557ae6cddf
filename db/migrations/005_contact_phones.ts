/**
 * Contacts without a name or company that say how to reach the person become addresses (R2), matched
 * by e-mail, then phone, then postal address among addresses without a name (domain/contact.ts). The
 * phone keys (normPhone) get their own column, filled here for the addresses already stored.
 */
import type { Knex } from 'knex';
import { normPhone } from '../../domain/contact';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('addresses', (t) => {
    t.specificType('norm_phones', 'text[]').notNullable().defaultTo('{}');
  });
  await fillPhoneKeys(knex);
  await knex.raw('CREATE INDEX addresses_norm_phones_gin ON addresses USING gin (norm_phones)');
  await knex.raw('CREATE INDEX addresses_nameless_place ON addresses (tenant_id, norm_city, norm_street) WHERE norm_last IS NULL AND norm_company IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS addresses_nameless_place');
  await knex.raw('DROP INDEX IF EXISTS addresses_norm_phones_gin');
  await knex.schema.alterTable('addresses', (t) => t.dropColumn('norm_phones'));
}

/** The phone keys of the addresses stored before this migration, 1,000 addresses at a time. */
async function fillPhoneKeys(knex: Knex): Promise<void> {
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
}
