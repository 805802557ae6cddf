/**
 * Worker Versioning's configuration (config/deployment.ts): opt-in by a deployment name, the build id
 * from the environment, the file, or the package version and git revision, and a versioned worker
 * without any build id refused in one line.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../config/config';
import { buildIdOf, gitRevision, packageVersion, workerDeploymentVersion } from '../../config/deployment';

const tenants = [{ id: 'acme', ftp: { url: 'ftp://u@127.0.0.1/in' } }];
const deploymentOf = (file: Record<string, unknown>, env: NodeJS.ProcessEnv) => parseConfig({ tenants, worker: { deployment: file } }, env).worker.deployment;
const inCheckout = fs.existsSync(path.resolve(__dirname, '../../.git'));

describe('worker deployment configuration', () => {
  it('is off without a deployment name: the worker is unversioned', () => {
    expect(workerDeploymentVersion(deploymentOf({}, {}), {})).toBeNull();
    // "" in the environment turns a configured name off.
    expect(workerDeploymentVersion(deploymentOf({ name: 'imv-import' }, { IMV_DEPLOYMENT_NAME: '' }), {})).toBeNull();
  });

  it('takes name and build id from the environment over the file', () => {
    const d = deploymentOf({ name: 'file-name', buildId: 'file-build' }, { IMV_DEPLOYMENT_NAME: 'env-name', IMV_BUILD_ID: 'env-build' });
    expect(workerDeploymentVersion(d, {})).toEqual({ deploymentName: 'env-name', buildId: 'env-build' });
    expect(workerDeploymentVersion(deploymentOf({ name: 'file-name', buildId: 'file-build' }, {}), {})).toEqual({
      deploymentName: 'file-name',
      buildId: 'file-build',
    });
  });

  it('defaults the build id to <package version>+<git revision>, the revision from IMV_GIT_REVISION (the Docker image)', () => {
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(buildIdOf({ name: 'imv-import' }, { IMV_GIT_REVISION: 'abc1234' })).toBe(`${packageVersion()}+abc1234`);
    expect(workerDeploymentVersion({ name: 'imv-import' }, { IMV_GIT_REVISION: 'abc1234' })).toEqual({
      deploymentName: 'imv-import',
      buildId: `${packageVersion()}+abc1234`,
    });
  });

  it.runIf(inCheckout)('reads the revision from git in a checkout', () => {
    expect(gitRevision({})).toMatch(/^[0-9a-f]{7,}$/);
  });

  it('refuses a versioned worker without a build id, and a name Temporal cannot take, in one line', () => {
    // No revision anywhere: a folder without .git, as in an image built without the build argument.
    const noGit = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-no-git-'));
    expect(gitRevision({}, noGit)).toBeNull();
    expect(() => workerDeploymentVersion({ name: 'imv-import' }, {}, noGit)).toThrow(/^worker deployment imv-import: no build id \(set IMV_BUILD_ID/);
    expect(() => workerDeploymentVersion({ name: 'imv.import', buildId: 'b' }, {})).toThrow(/no dots or spaces/);
    expect(() => parseConfig({ tenants, worker: { deployment: { name: 'x', bildId: 'typo' } } }, {})).toThrow(/Unrecognized key/);
  });
});
