/**
 * Ledger statuses (import_files.status) after which a file's import is done for good: its workflow
 * does not run it again, the lister does not list its file again, and the last-resort and error
 * marks leave the row as it is. The one definition, for activities, db/ and ops/.
 */
export const FINAL_STATUSES = ['imported', 'partial', 'failed', 'duplicate'] as const;

export type FinalStatus = (typeof FINAL_STATUSES)[number];

export function isFinalStatus(status: string): status is FinalStatus {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}
