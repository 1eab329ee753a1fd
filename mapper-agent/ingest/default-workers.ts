import { availableParallelism } from 'node:os';

/** agent.ingest.workers' default: one worker thread per core, at most 4 (the CLI starts that many before the configuration is read). */
export const DEFAULT_WORKERS = Math.min(4, availableParallelism());
