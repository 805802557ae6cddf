/**
 * The real-world sample transfers (shared/samples: public OpenImmo files from other projects, and the
 * IMV-shaped ones) live outside the repository. The rule tests do not need them (they run on
 * test/fixtures); the tests that do ("shared samples" in test/openimmo/samples.test.ts, fidelity's
 * "every sample transfer imports", fuzz's sample seeds) are an extra layer, and this module is the one
 * place that finds them:
 *
 * 1. `IMV_SAMPLES_DIR`, if set (and only it: a wrong value is not silently replaced by a guess);
 * 2. else `../shared/samples` beside this checkout (the main checkout and its worktrees);
 * 3. else, for a clone of a local checkout (`git clone /work/main /tmp/x`, as CI or a developer may), `shared/samples`
 *    beside the checkout its `origin` points to.
 *
 * It is also the run's global setup (vitest.config.mts): with `CI` set (`CI=true`) a run without the
 * samples fails, naming where it looked; elsewhere it prints one line saying what is skipped.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const checkout = path.resolve(__dirname, '../..');

/** The checkout a local `origin` (a path or file:// URL, to a work tree or its .git) stands for; null for a remote one. */
export function localOriginCheckout(url: string, from: string): string | null {
  let dir: string;
  if (/^file:\/\//i.test(url)) dir = fileURLToPath(url);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^/\\]+:/.test(url))
    return null; // https://, ssh://, git@host:path
  else dir = path.resolve(from, url);
  return path.basename(dir) === '.git' ? path.dirname(dir) : dir;
}

function originUrl(dir: string): string | null {
  try {
    return execFileSync('git', ['-C', dir, 'config', '--get', 'remote.origin.url'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null; // no git, not a clone, or no origin
  }
}

/** The folders looked at, in order (the first that exists is the samples folder). */
export function candidateDirs(env: NodeJS.ProcessEnv = process.env, dir = checkout): string[] {
  if (env.IMV_SAMPLES_DIR) return [path.resolve(env.IMV_SAMPLES_DIR)];
  const dirs = [path.resolve(dir, '../shared/samples')];
  const url = originUrl(dir);
  const origin = url === null ? null : localOriginCheckout(url, dir);
  if (origin !== null) dirs.push(path.resolve(origin, '../shared/samples'));
  return [...new Set(dirs)];
}

const looked = candidateDirs();
const found = looked.find((d) => fs.existsSync(d));

/** Whether the real-world samples are here; the tests that need them run only then. */
export const hasSamples = found !== undefined;
/** The samples folder (where it was looked for first, if it is missing). */
export const samplesDir = found ?? looked[0]!;

/** What runs only with the samples, for the run's one line. */
const SKIPPED =
  '"shared samples" in test/openimmo/samples.test.ts, "every sample transfer imports" in test/pipeline/fidelity.test.ts and the sample seeds of test/hostile/fuzz.unit.test.ts';

/** Where the samples were looked for, for the messages. */
function whereLooked(dirs: string[] = looked): string {
  return `no real-world samples (shared/samples) in ${dirs.join(' or ')}`;
}

const CHECKED = Symbol.for('imv-import.samples-checked');

/**
 * Vitest global setup, once per run (each project that inherits it calls it again, hence the flag):
 * with `CI` set and no samples, the run fails; otherwise one line says what is skipped and why.
 */
export function setup(): void {
  const env = process.env;
  const g = globalThis as { [CHECKED]?: boolean };
  if (g[CHECKED] || hasSamples) return;
  g[CHECKED] = true;
  if (env.CI !== undefined && !['', '0', 'false'].includes(env.CI.toLowerCase()))
    throw new Error(`CI=${env.CI} and ${whereLooked()}. In CI, ${SKIPPED} must run: set IMV_SAMPLES_DIR to the samples folder.`);
  console.warn(`imv-import tests: ${whereLooked()}: skipping ${SKIPPED} (set IMV_SAMPLES_DIR to the samples folder to run them).`);
}
