/**
 * The workflow bundle, built once by `npm run build` (dist/workflow-bundle.js) instead of by webpack
 * at every worker start: a start takes a second less, and the worker process does not keep
 * webpack's modules and heap (about 100 MB of its resident memory). A bundle older than any
 * compiled workflow module is not used: the worker bundles at start, as without one.
 *
 *   node dist/workers/workflow-bundle.js   (part of npm run build)
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

/** The workflow bundle's entry: compiled JS in dist/, TypeScript source under tests. */
export function workflowsPath(): string {
  const base = path.join(__dirname, '..', 'workflows', 'index');
  return fs.existsSync(`${base}.js`) ? `${base}.js` : `${base}.ts`;
}

/** Where the build puts the bundle (beside the compiled workflows in dist/). */
export const PREBUILT_BUNDLE = path.join(__dirname, '..', 'workflow-bundle.js');

/** The prebuilt bundle's path when it is there and newer than every compiled workflow module. */
export function prebuiltBundle(file = PREBUILT_BUNDLE): string | null {
  if (!fs.existsSync(file) || !workflowsPath().endsWith('.js')) return null;
  const built = fs.statSync(file).mtimeMs;
  const dir = path.dirname(workflowsPath());
  const sources = [dir, path.join(dir, '..', 'common')].flatMap((d) =>
    fs.existsSync(d)
      ? fs
          .readdirSync(d)
          .filter((f) => f.endsWith('.js'))
          .map((f) => path.join(d, f))
      : [],
  );
  return sources.every((f) => fs.statSync(f).mtimeMs <= built) ? file : null;
}

export async function writeWorkflowBundle(file = PREBUILT_BUNDLE): Promise<void> {
  const silent = { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} };
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: silent as never });
  fs.writeFileSync(`${file}.tmp`, code);
  fs.renameSync(`${file}.tmp`, file);
}

if (require.main === module) {
  writeWorkflowBundle().then(
    () => console.log(`workflow bundle written to ${path.relative(process.cwd(), PREBUILT_BUNDLE)}`),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
