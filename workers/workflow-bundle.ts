/**
 * The workflow bundle, built once by `npm run build` (dist/workflow-bundle.js) instead of by webpack
 * at every worker start: a start takes a second less, and the worker process does not keep
 * webpack's modules and heap (about 100 MB of its resident memory). A bundle older than any module
 * compiled beside it is not used: the worker bundles at start, as without one.
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

/**
 * The prebuilt bundle's path when it is there and newer than every compiled module beside it (so a
 * `tsc` without the bundling step never runs old workflow code, whatever the workflows import).
 */
export function prebuiltBundle(file = PREBUILT_BUNDLE): string | null {
  if (!fs.existsSync(file) || !workflowsPath().endsWith('.js')) return null;
  const built = fs.statSync(file).mtimeMs;
  const compiled = fs.readdirSync(path.dirname(file), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
  return compiled.every((f) => fs.statSync(path.join(path.dirname(file), f)).mtimeMs <= built) ? file : null;
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
