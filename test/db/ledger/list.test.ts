/** db/ledger/list.ts against real PostgreSQL: which listed workflow ids have a final row already. */
import { expect, it } from 'vitest';
import { FINAL_STATUSES } from '../../../common/statuses';
import { finishedWorkflowIds } from '../../../db/ledger/list';
import { insertImport, insertTenant, useDatabase } from '../../support/database';

const pg = useDatabase();

it('returns the ids whose row is final, over more than one query of 1,000 ids', async () => {
  await insertTenant(pg.db, 't');
  for (const status of [...FINAL_STATUSES, 'importing', 'error']) await insertImport(pg.db, 't', { workflow_id: `wf-${status}`, status });
  // The final rows' ids come after 1,000 unknown ones: a second query finds them.
  const asked = [...Array.from({ length: 1000 }, (_, i) => `unknown-${i}`), 'wf-importing', 'wf-error', ...FINAL_STATUSES.map((s) => `wf-${s}`)];
  expect([...(await finishedWorkflowIds(pg.db, asked))].sort()).toEqual(FINAL_STATUSES.map((s) => `wf-${s}`).sort());
  expect(await finishedWorkflowIds(pg.db, [])).toEqual(new Set());
});
