/**
 * A worker of the ingest pool (see pool.ts): loads its modules as soon as it is started, then
 * waits for its one job (`{ job }`: the campaign facts, the checked time, ...) before it builds its
 * engine and touches any file; then ingests (or, in enforcement mode, lifts) the files of one
 * directory per message.
 */
import { inspect } from 'node:util';
import { parentPort } from 'node:worker_threads';
import { Classifier } from '../../core/embargo/classify.js';
import { emptyReport, IngestEngine } from './engine.js';
import { Journal, type PlannedChange } from './journal.js';
import type { PoolJob, PoolResult } from './pool.js';

function start(job: PoolJob): void {
  const campaigns = new Map(job.campaigns.map((c) => [c.name, { ...c, ...(c.embargoEnd ? { embargoEnd: new Date(c.embargoEnd) } : {}) }]));
  const journal = new Journal(job.journalPath, job.enforce ? 'embargo (pool worker)' : 'ingest (pool worker)');
  // One directory's changes, for the main thread to print (the engine calls onChange once per change, after applying it).
  let changes: PlannedChange[] = [];
  const engine = new IngestEngine({
    roots: job.roots, classifier: new Classifier(job.classification), modes: job.modes, resolve: (n) => campaigns.get(n),
    journal, dryRun: job.dryRun, batchSize: job.batchSize, now: job.now === null ? null : new Date(job.now), recursive: false,
    publicAreas: job.publicAreas, ...(job.sealedHeaders !== undefined ? { sealedHeaders: job.sealedHeaders } : {}),
    ...(job.enforce ? { enforce: { ended: new Map(job.enforce.ended), running: new Map(job.enforce.running) } } : {}),
    ...(job.forwardChanges ? { onChange: (c: PlannedChange) => void changes.push(c) } : {}),
  });

  const send = (report: PoolResult['report']): void => {
    parentPort!.postMessage({ report, ...(job.forwardChanges ? { changes } : {}) } satisfies PoolResult);
    changes = [];
  };

  parentPort!.on('message', (m: { dir?: string; done?: true }) => {
    if (m.done) {
      journal.close();
      process.exit(0);
    }
    engine.ingest([m.dir!]).then(send, (err: Error) => send({ ...emptyReport(), refused: 1, problems: [`${m.dir}: ${err.message}`] }));
  });
  parentPort!.postMessage({ ready: true });
}

parentPort!.once('message', (m: { job: PoolJob }) => {
  try {
    start(m.job);
  } catch (e) {
    throw asError(e);
  }
});

/**
 * Node sends a worker's uncaught failure to the main thread whole only if it is a real Error; a
 * DOMException (a DataCloneError, say) would arrive as a bare "[object Object]". The pool's
 * bootstrap (pool.ts) does the same for a failure to load this module.
 */
function asError(e: unknown): unknown {
  return Object.prototype.toString.call(e) === '[object Error]' ? e : new Error(inspect(e, { breakLength: Infinity }));
}
