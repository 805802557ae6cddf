// The workflow bundle's entry point: only deterministic workflow code is reachable from here.
export { importBatch, importBatchProgress } from './import-batch';
export { importFile, importFileProgress } from './import-file';
export { storeGc } from './store-gc';
