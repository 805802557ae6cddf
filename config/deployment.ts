/**
 * Worker Versioning: which Worker Deployment Version a worker polls as. Opt-in — without a deployment
 * name (config `worker.deployment.name`, env `IMV_DEPLOYMENT_NAME`) the worker is unversioned, as on
 * the dev server and in `imv-import dev`.
 *
 * The build id is `worker.deployment.buildId` / `IMV_BUILD_ID` when set, else `<package version>+<git
 * revision>`. The revision comes from `IMV_GIT_REVISION` (the Docker image sets it from its build
 * argument: the image has no .git), else from `git rev-parse --short HEAD` in a checkout. A versioned
 * worker without any build id refuses to start: two builds under one id would share pinned workflows.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import { ConfigError } from './errors';

/** The configured deployment (after the environment's overrides, config/config.ts). */
export interface DeploymentSetting {
  name?: string;
  buildId?: string;
}

/** The project root: the folder with package.json above this module (source or dist/). */
function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** The git revision of this build: IMV_GIT_REVISION, else the checkout's HEAD; null when neither is there. */
export function gitRevision(env: NodeJS.ProcessEnv = process.env, root = projectRoot()): string | null {
  if (env.IMV_GIT_REVISION?.trim()) return env.IMV_GIT_REVISION.trim();
  if (!fs.existsSync(path.join(root, '.git'))) return null;
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

/** This build's id: the configured one, else `<package version>+<git revision>`; null without a revision. */
export function buildIdOf(setting: DeploymentSetting, env: NodeJS.ProcessEnv = process.env, root?: string): string | null {
  if (setting.buildId) return setting.buildId;
  const revision = gitRevision(env, root);
  return revision ? `${packageVersion()}+${revision}` : null;
}

/**
 * The version this worker polls as, or null when versioning is off (no deployment name). Throws a
 * one-line ConfigError for a versioned worker without a build id or with a name Temporal refuses.
 */
export function workerDeploymentVersion(setting: DeploymentSetting, env: NodeJS.ProcessEnv = process.env, root?: string): WorkerDeploymentVersion | null {
  const deploymentName = setting.name;
  if (!deploymentName) return null;
  if (/[.\s]/.test(deploymentName)) throw new ConfigError(`deployment name ${JSON.stringify(deploymentName)}: no dots or spaces (IMV_DEPLOYMENT_NAME)`);
  const buildId = buildIdOf(setting, env, root);
  if (!buildId)
    throw new ConfigError(
      `worker deployment ${deploymentName}: no build id (set IMV_BUILD_ID or worker.deployment.buildId, or IMV_GIT_REVISION, or run from a git checkout)`,
    );
  return { deploymentName, buildId };
}
