/**
 * A worker of the ingest pool (see pool.ts): loads its modules as soon as it is started, then
 * waits for its one job (`{ job }`: the campaign facts, the checked time, ...) before it builds its
 * engine and touches any file; then ingests (or, in enforcement mode, lifts) the files of each
 * directory whose number it claims (pool.ts run()).
 */
import { inspect } from 'node:util';
import { parentPort } from 'node:worker_threads';
import { Classifier } from '../../core/embargo/classify.js';
import { emptyReport, IngestEngine } from './engine.js';
import { Journal, type PlannedChange } from './journal.js';
import type { PoolJob, PoolResult } from './pool.js';

function start(job: PoolJob, claims: Int32Array): void {
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

  // Directories by number, as the main thread sends them (to every worker, ahead of the work); this
  // worker takes the ones whose number it claims from the shared counter (pool.ts run()).
  const dirs = new Map<number, string>();
  let end = Infinity;
  let claimed = -1;
  let working = false;
  const next = (): void => {
    if (working) return;
    if (claimed < 0) claimed = Atomics.add(claims, 0, 1);
    if (claimed >= end) {
      journal.close();
      process.exit(0);
    }
    const dir = dirs.get(claimed);
    if (dir === undefined) return; // not sent yet: the next message brings it (or the end)
    for (const seq of dirs.keys()) if (seq <= claimed) dirs.delete(seq); // the others' (or this one)
    claimed = -1;
    working = true;
    engine.ingest([dir]).then(send, (err: Error) => send({ ...emptyReport(), refused: 1, problems: [`${dir}: ${err.message}`] })).finally(() => {
      working = false;
      next();
    });
  };
  parentPort!.on('message', (m: { dir?: string; seq?: number; end?: number }) => {
    if (m.end !== undefined) end = m.end;
    else dirs.set(m.seq!, m.dir!);
    next();
  });
  parentPort!.postMessage({ ready: true });
  next();
}

parentPort!.once('message', (m: { job: PoolJob; claims: Int32Array }) => {
  try {
    start(m.job, m.claims);
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
