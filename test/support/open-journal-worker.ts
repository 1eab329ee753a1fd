/**
 * A thread for test/mapper-agent/ingest/journal.test.ts: opens and closes a new journal file per
 * round, in step with the other threads (a barrier on a shared counter), so that several open
 * each new file at the same moment, as the pool's workers do. Posts how many opens failed, and the
 * first error's message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Journal } from '../../mapper-agent/ingest/journal.js';

const { dir, gate, threads, rounds } = workerData as { dir: string; gate: SharedArrayBuffer; threads: number; rounds: number };
const arrived = new Int32Array(gate);
let failed = 0;
let first = '';
for (let i = 0; i < rounds; i++) {
  Atomics.add(arrived, 0, 1);
  while (Atomics.load(arrived, 0) < (i + 1) * threads); // every thread at round i
  try {
    new Journal(`${dir}/journal-${i}.sqlite`, 'open race (test)').close();
  } catch (err) {
    failed++;
    first ||= (err as Error).message;
  }
}
parentPort!.postMessage({ failed, first });
