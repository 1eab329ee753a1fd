/**
 * Ingest and embargo enforcement on several cores: the main thread finishes any interrupted run
 * (journal), walks the trees for directories only, and sends them, numbered, to every worker
 * thread, a few ahead; a free worker claims the next number (run()). Each worker runs its own
 * IngestEngine (non-recursive; in enforcement mode for lifting) with its own journal connection on
 * the same SQLite file (WAL). Campaign facts are read once from LDAP and passed to the workers.
 * Results are summed; problems are kept up to the engine's bound. The workers can be started
 * before the job is known (startPool): they load their modules meanwhile and build their engine
 * only once run() gives them the job.
 */
import { inspect } from 'node:util';
import { Worker } from 'node:worker_threads';
import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { walkSafely } from './safe-file.js';
import { fileURLToPath } from 'node:url';
import type { ClassificationRules } from '../../core/embargo/classify.js';
import type { CampaignFacts, Modes } from '../../core/embargo/policy.js';
import { emptyReport, MAX_PROBLEMS, type IngestReport } from './engine.js';
import type { PlannedChange } from './journal.js';

export interface PoolJob {
  roots: string[];
  classification: ClassificationRules;
  modes: Modes;
  campaigns: CampaignFacts[];
  journalPath: string;
  dryRun: boolean;
  batchSize: number;
  /** ISO time decisions are made at; null: the clock is not trusted (every dated embargo holds) */
  now: string | null;
  publicAreas: string[];
  /** enforcement mode (lifting): gid -> campaign name of the campaigns whose embargo ended, and of those under embargo */
  enforce?: { ended: [number, string][]; running: [number, string][] };
  /** enforcement decides from header seals (EngineOptions.sealedHeaders) */
  sealedHeaders?: boolean;
  /** send every change (applied; in a dry run: planned) back to the main thread (printing); off, only counts come back */
  forwardChanges?: boolean;
}

/** What a worker sends back for one directory. */
export interface PoolResult {
  report: IngestReport;
  /** with forwardChanges */
  changes?: PlannedChange[];
}

/**
 * The pool's units of work: every directory under the given directories (themselves included),
 * walked descriptor-relative (any depth, no symlinks), and each given path that is not a
 * directory as itself (the worker's engine handles or refuses it).
 */
export function* workUnits(paths: string[], roots: string[]): Generator<string> {
  for (const top of paths) {
    let isDirectory = false;
    try {
      isDirectory = lstatSync(top).isDirectory();
    } catch {
      // the worker reports it
    }
    if (!isDirectory) {
      yield top;
      continue;
    }
    for (const item of walkSafely([top], roots, { directories: true, files: false })) if (item.kind === 'directory') yield item.path;
  }
}

export async function ingestWithPool(paths: string[], job: PoolJob, workers: number | WorkerPool): Promise<IngestReport> {
  return runPool(workUnits(paths, job.roots.map((r) => realpathSync(r))), job, workers);
}

/**
 * Run the pool over the work units (workUnits); `onResult` sees each directory's result as it
 * arrives (changes forwarded with job.forwardChanges). Returns the summed report. `workers`: a pool
 * started earlier (startPool; this run uses it up), or how many workers to start now.
 */
export async function runPool(queue: Iterator<string>, job: PoolJob, workers: number | WorkerPool, onResult?: (r: PoolResult) => void): Promise<IngestReport> {
  return (typeof workers === 'number' ? startPool(workers) : workers).run(queue, job, onResult);
}

/**
 * Start the pool's workers now, before their job is known: each loads its modules while the main
 * thread reads the configuration, the clock, the campaigns and resumes the journal (keep zod out of
 * a worker's imports: it was a third of its start; the rules' schemas live in core/embargo/rules.ts).
 * A worker touches no file before it is given the job (run). A pool that ends up unused must be
 * terminated (terminate()), or its idle workers keep the process alive.
 */
export function startPool(workers: number, opts: { url?: URL } = {}): WorkerPool {
  return new WorkerPool(workers, opts.url ?? workerUrl());
}

// Process-wide (a module may be loaded twice, e.g. by tsx from a test and from a dynamic import).
const alive: { n: number } = ((globalThis as Record<symbol, unknown>)[Symbol.for('campaign-guard.ingest-pool.alive')] ??= { n: 0 }) as { n: number };

/** Pool workers started and not yet exited, in this process (a pool left behind shows here). */
export function poolWorkersAlive(): number {
  return alive.n;
}

/** What run() has handed out: directories sent (numbered 0..sent-1), whether the end was sent, results back. */
interface HandOut {
  sent: number;
  ended: boolean;
  results: number;
}

interface Slot {
  worker: Worker;
  /** resolves (never rejects) once the thread has exited */
  exited: Promise<void>;
  code?: number;
  /** the first error the thread raised (uncaught in it: loading its modules, building its engine, ...) */
  error?: Error;
  /** its engine is built (it said ready) */
  ready: boolean;
  onMessage?: (m: { ready?: true } & Partial<PoolResult>) => void;
}

export class WorkerPool {
  private readonly slots: Slot[];
  private used = false;

  constructor(workers: number, url: URL) {
    this.slots = Array.from({ length: workers }, () => this.spawn(url));
  }

  get size(): number {
    return this.slots.length;
  }

  /** Neither run nor terminated yet (a pool is used once). */
  get fresh(): boolean {
    return !this.used;
  }

  private spawn(url: URL): Slot {
    const worker = new Worker(workerBootstrap(url), { eval: true });
    alive.n++;
    const slot: Slot = { worker, exited: undefined as unknown as Promise<void>, ready: false };
    // Listened to from the start: an error while idle (a module that fails to load) is kept for
    // run() to report, never thrown in the main thread nor left as an unhandled rejection.
    worker.on('error', (err) => (slot.error ??= err instanceof Error ? err : new Error(inspect(err, { depth: 4, breakLength: Infinity }))));
    worker.on('message', (m) => slot.onMessage?.(m));
    slot.exited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        slot.code = code;
        alive.n--;
        resolve();
      }),
    );
    return slot;
  }

  /**
   * Give every worker the job, then the directories, until the queue ends. Once only. On any
   * worker's failure the others are stopped (the journal finishes or drops what they planned, as
   * after a crash) and the run rejects.
   *
   * Every directory goes to every worker, numbered, a few ahead of the work; a worker that is free
   * claims the next number from a counter they share (Atomics) and works on that directory. Free
   * workers never wait for this thread to be scheduled (handing out a directory per result made
   * each wait ~0.7 ms a directory on two busy cores: ~3% of a pooled lift), and no directory
   * waits behind another in a busy worker while one is free.
   */
  async run(queue: Iterator<string>, job: PoolJob, onResult?: (r: PoolResult) => void): Promise<IngestReport> {
    if (this.used) throw new Error('this ingest pool was already used or terminated');
    this.used = true;
    const total = emptyReport();
    const claims = new Int32Array(new SharedArrayBuffer(4));
    const handOut: HandOut = { sent: 0, ended: false, results: 0 };
    // Sent ahead of the claims: enough that a free worker finds its next directory already there.
    const ahead = 2 * this.slots.length;
    const topUp = (): void => {
      while (!handOut.ended && handOut.sent < Atomics.load(claims, 0) + ahead) {
        const d = queue.next(); // the walk, in this thread: its failure fails the run (below)
        const message = d.done ? { end: handOut.sent } : { dir: d.value, seq: handOut.sent++ };
        if (d.done) handOut.ended = true;
        for (const s of this.slots) if (s.code === undefined) s.worker.postMessage(message);
      }
    };
    // Every worker has its job before the first directory goes out.
    const runs = Promise.all(this.slots.map((s) => this.work(s, job, claims, topUp, handOut, total, onResult)));
    runs.catch(() => undefined); // awaited below; a walk that fails at once is thrown first
    try {
      topUp();
      await runs;
      if (handOut.results !== handOut.sent) throw new Error(`ingest pool: ${handOut.sent} directories handed out, ${handOut.results} worked on`);
    } catch (err) {
      await this.terminate();
      throw err;
    }
    return total;
  }

  private work(s: Slot, job: PoolJob, claims: Int32Array, topUp: () => void, handOut: HandOut, total: IngestReport, onResult?: (r: PoolResult) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const failed = (): Error => {
        if (!s.ready) return new Error(`ingest worker failed to start: ${s.error?.message ?? `it exited with ${s.code} before its job`}`, { cause: s.error });
        return s.error ?? new Error(`ingest worker exited with ${s.code}`);
      };
      // A worker ends by itself, with 0, once it has claimed a number past the end.
      void s.exited.then(() => (s.code === 0 && handOut.ended && s.ready ? resolve() : reject(failed())));
      if (s.code !== undefined) return; // died while idle: rejected above
      s.onMessage = (m) => {
        if (m.ready) s.ready = true;
        if (m.report) {
          handOut.results++;
          addReport(total, m.report);
          onResult?.(m as PoolResult);
        }
        try {
          topUp();
        } catch (err) {
          reject(err);
        }
      };
      s.worker.postMessage({ job, claims });
    });
  }

  /** Stop every worker still running (idle, or mid-job after a failure) and wait for them to exit. Idempotent. */
  async terminate(): Promise<void> {
    this.used = true;
    await Promise.all(this.slots.map((s) => (s.code === undefined ? s.worker.terminate().then(() => s.exited) : s.exited)));
  }
}

/**
 * A worker thread's first code (the pool's; tests' threads too): loads the module at `url`; from
 * sources (tests, development) it registers tsx first, as loader hooks given as execArgv do not
 * reach worker threads. A failure that is not an Error (a DOMException: a DataCloneError, an
 * AbortError) would reach the main thread as a bare "[object Object]" (Node's error serialization
 * keeps only real Errors), so it is made one here, with what inspect shows of it.
 */
export function workerBootstrap(url: URL): string {
  const href = JSON.stringify(url.href);
  const load = url.pathname.endsWith('.ts') ? `import('tsx/esm/api').then(({ register }) => { register(); return import(${href}); })` : `import(${href})`;
  return `${load}.catch((e) => { throw ${asErrorSource}(e); });`;
}

/** asError (pool-worker.ts) as source, for the bootstrap: the worker module may be what failed to load. */
const asErrorSource = `((e) => Object.prototype.toString.call(e) === '[object Error]' ? e : new Error(require('node:util').inspect(e, { breakLength: Infinity })))`;

function workerUrl(): URL {
  // Under tsx (tests, development) the sources are .ts; after `npm run build` they are .js.
  const js = new URL('./pool-worker.js', import.meta.url);
  return existsSync(fileURLToPath(js)) ? js : new URL('./pool-worker.ts', import.meta.url);
}

/** Add one directory's report to the run's: counts summed, problems up to the engine's bound, earliest openings kept. */
function addReport(total: IngestReport, r: IngestReport): void {
  for (const k of ['files', 'changed', 'unchanged', 'quarantined', 'left', 'refused', 'directories', 'lifted', 'sealed'] as const) total[k] += r[k];
  for (const p of r.problems) if (total.problems.length < MAX_PROBLEMS) total.problems.push(p);
  for (const [c, at] of Object.entries(r.nextOpening)) total.nextOpening[c] = Math.min(at, total.nextOpening[c] ?? at);
  for (const [c, n] of Object.entries(r.reclosedBy)) total.reclosedBy[c] = (total.reclosedBy[c] ?? 0) + n;
}
