/**
 * A pool worker (see mapper-agent/ingest/pool-worker.ts) whose modules fail to load, for
 * test/mapper-agent/ingest/pool-start.test.ts; BROKEN_POOL_WORKER=exit makes it exit with 3
 * instead, before any job; BROKEN_POOL_WORKER=domexception makes it throw a DOMException, which is not an Error to Node's serialization.
 */
import { parentPort } from 'node:worker_threads';

if (process.env.BROKEN_POOL_WORKER === 'exit') process.exit(3);
parentPort?.once('message', () => undefined);
if (process.env.BROKEN_POOL_WORKER === 'domexception') throw new DOMException('could not clone the job', 'DataCloneError');
throw new Error('this worker cannot load its modules (test)');
