/** A worker of the ingest pool (see pool.ts): ingests the files of one directory per message. */
import { parentPort, workerData } from 'node:worker_threads';
import { Classifier } from '../../core/embargo/classify.js';
import { IngestEngine } from './engine.js';
import { Journal } from './journal.js';
import type { PoolJob } from './pool.js';

const job = workerData as PoolJob;
const campaigns = new Map(job.campaigns.map((c) => [c.name, { ...c, ...(c.embargoEnd ? { embargoEnd: new Date(c.embargoEnd) } : {}) }]));
const journal = new Journal(job.journalPath, 'ingest (pool worker)');
const engine = new IngestEngine({
  roots: job.roots, classifier: new Classifier(job.classification), modes: job.modes, resolve: (n) => campaigns.get(n),
  journal, dryRun: job.dryRun, batchSize: job.batchSize, now: job.now === null ? null : new Date(job.now), recursive: false,
  publicAreas: job.publicAreas,
});

parentPort!.on('message', (m: { dir?: string; done?: true }) => {
  if (m.done) {
    journal.close();
    process.exit(0);
  }
  engine.ingest([m.dir!]).then(
    (report) => parentPort!.postMessage({ report }),
    (err: Error) => parentPort!.postMessage({ report: { files: 0, changed: 0, unchanged: 0, quarantined: 0, left: 0, refused: 1, directories: 0, problems: [`${m.dir}: ${err.message}`] } }),
  );
});
parentPort!.postMessage({ ready: true });
