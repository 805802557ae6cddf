/** db/db.ts's inTransaction and closeDb against real PostgreSQL. */
import { describe, expect, it } from 'vitest';
import { closeDb, createDb, inTransaction } from '../../db/db';
import { useMigratedDatabase } from '../support/database';

describe('db/db: transactions and closing', () => {
  const ctx = useMigratedDatabase();
  const names = async () => (await ctx.db('tenants').orderBy('id').pluck('id')) as string[];

  it('inTransaction commits what the function wrote when it resolves, and returns its result', async () => {
    const r = await inTransaction(ctx.db, async (trx) => {
      await trx('tenants').insert({ id: 'committed' });
      // Not visible outside the transaction before the commit.
      expect(await names()).not.toContain('committed');
      return 42;
    });
    expect(r).toBe(42);
    expect(await names()).toContain('committed');
  });

  it('inTransaction rolls back what the function wrote when it throws, and throws that error', async () => {
    await expect(
      inTransaction(ctx.db, async (trx) => {
        await trx('tenants').insert({ id: 'rolled-back' });
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await names()).not.toContain('rolled-back');
  });

  it('closeDb ends the pool: the handle runs no statement afterwards', async () => {
    const db = createDb(ctx.url, 1);
    await db.raw('SELECT 1');
    await closeDb(db);
    await expect(db.raw('SELECT 1')).rejects.toThrow();
  });
});
