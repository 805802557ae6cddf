/**
 * One Temporal dev server (the same CLI binary as the main job, started by the SDK with
 * `existing-path`, never downloaded) and one vsftpd per test run. Test files get their addresses
 * through vitest's provide/inject, and create their own database and FTP folder.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ensureTemporalCli, freePort } from '../dev/temporal-server';
import { ImportFile, ImportObjects, ImportOutcome, ImportTenant } from '../common/search-attributes';
import { startVsftpd } from './support/vsftpd';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalUiUrl: string;
    ftpPort: number;
    ftpRoot: string;
  }
}

interface Provider {
  provide<K extends keyof import('vitest').ProvidedContext>(key: K, value: import('vitest').ProvidedContext[K]): void;
}

export default async function setup(project: Provider) {
  const path = ensureTemporalCli();
  const uiPort = await freePort();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      ip: '127.0.0.1',
      ui: true,
      uiPort,
      searchAttributes: [ImportTenant, ImportFile, ImportOutcome, ImportObjects],
      extraArgs: ['--log-level', 'error'],
    },
  });
  const address = env.connection.options.address as unknown as string;
  const ftp = await startVsftpd();
  project.provide('temporalAddress', address);
  project.provide('temporalUiUrl', `http://127.0.0.1:${uiPort}`);
  project.provide('ftpPort', ftp.port);
  project.provide('ftpRoot', ftp.root);
  return async () => {
    await ftp.stop();
    await env.teardown();
  };
}
