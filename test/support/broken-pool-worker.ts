/**
 * A pool worker (see mapper-agent/ingest/pool-worker.ts) whose modules fail to load, for
 * test/mapper-agent/ingest/pool-start.test.ts; BROKEN_POOL_WORKER=exit makes it exit with 3
 * instead, before any job.
 */
import { parentPort } from 'node:worker_threads';

if (process.env.BROKEN_POOL_WORKER === 'exit') process.exit(3);
parentPort?.once('message', () => undefined);
throw new Error('this worker cannot load its modules (test)');
