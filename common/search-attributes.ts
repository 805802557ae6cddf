import { defineSearchAttributeKey } from '@temporalio/common';

/**
 * Custom search attributes on every batch and file run. Registered by the dev server flags
 * (dev/temporal-server.ts) and, in docker-compose, by the temporal-init step. Values are ids,
 * file names and counts only: never personal data.
 */
export const ImportTenant = defineSearchAttributeKey('ImportTenant', 'KEYWORD');
export const ImportFile = defineSearchAttributeKey('ImportFile', 'KEYWORD');
export const ImportOutcome = defineSearchAttributeKey('ImportOutcome', 'KEYWORD');
export const ImportObjects = defineSearchAttributeKey('ImportObjects', 'INT');

/** name → the dev server's `--search-attribute NAME=TYPE` type. */
export const searchAttributeTypes: Record<string, string> = {
  ImportTenant: 'Keyword',
  ImportFile: 'Keyword',
  ImportOutcome: 'Keyword',
  ImportObjects: 'Int',
};

/** The search attributes a file workflow starts with (batch children and replays alike). */
export function fileSearchAttributes(tenant: string, fileName: string) {
  return [
    { key: ImportTenant, value: tenant },
    { key: ImportFile, value: fileName },
    { key: ImportOutcome, value: 'running' },
    { key: ImportObjects, value: 0 },
  ];
}
