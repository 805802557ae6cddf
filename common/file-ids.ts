import type { RemoteFile } from './messages';

/**
 * A readable, deterministic workflow id for an inbox file: tenant, time, name and size
 * (design.md §4). Used by the batch workflow to start the file's child, and by the lister to find
 * the ledger row of a file that was finished but could not leave the inbox.
 */
export function fileWorkflowId(tenant: string, f: RemoteFile): string {
  const t = f.mtime.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `import-file/${tenant}/${t}/${f.name}/${f.size}`;
}
