/**
 * Ingest and embargo enforcement on several cores: the main thread finishes any interrupted run
 * (journal), walks the trees for directories only, and hands directories out one at a time to
 * worker threads; each worker runs its own IngestEngine (non-recursive; in enforcement mode for
 * lifting) with its own journal connection on the same SQLite file (WAL). Campaign facts are read
 * once from LDAP and passed to the workers. Results are summed; problems are kept up to the
 * engine's bound.
 */
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

function workerUrl(): URL {
  // Under tsx (tests, development) the sources are .ts; after `npm run build` they are .js.
  const js = new URL('./pool-worker.js', import.meta.url);
  return existsSync(fileURLToPath(js)) ? js : new URL('./pool-worker.ts', import.meta.url);
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

export async function ingestWithPool(paths: string[], job: PoolJob, workers: number): Promise<IngestReport> {
  return runPool(workUnits(paths, job.roots.map((r) => realpathSync(r))), job, workers);
}

/**
 * Run the pool over the work units (workUnits); `onResult` sees each directory's result as it
 * arrives (changes forwarded with job.forwardChanges). Returns the summed report.
 */
export async function runPool(queue: Iterator<string>, job: PoolJob, workers: number, onResult?: (r: PoolResult) => void): Promise<IngestReport> {
  const total = emptyReport();
  const url = workerUrl();
  // From sources (tests, development) the worker registers tsx itself: loader hooks given as
  // execArgv do not reach worker threads.
  const start = () =>
    url.pathname.endsWith('.ts')
      ? new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`, { eval: true, workerData: job })
      : new Worker(url, { workerData: job });
  const pool = Array.from({ length: workers }, start);
  await Promise.all(
    pool.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          const next = () => {
            const d = queue.next();
            if (d.done) w.postMessage({ done: true });
            else w.postMessage({ dir: d.value });
          };
          w.on('message', (m: { ready?: true } & Partial<PoolResult>) => {
            if (m.report) {
              addReport(total, m.report);
              onResult?.(m as PoolResult);
            }
            next();
          });
          w.once('error', reject);
          w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ingest worker exited with ${code}`))));
        }),
    ),
  );
  return total;
}

/** Add one directory's report to the run's: counts summed, problems up to the engine's bound, earliest openings kept. */
function addReport(total: IngestReport, r: IngestReport): void {
  for (const k of ['files', 'changed', 'unchanged', 'quarantined', 'left', 'refused', 'directories', 'lifted', 'sealed'] as const) total[k] += r[k];
  for (const p of r.problems) if (total.problems.length < MAX_PROBLEMS) total.problems.push(p);
  for (const [c, at] of Object.entries(r.nextOpening)) total.nextOpening[c] = Math.min(at, total.nextOpening[c] ?? at);
  for (const [c, n] of Object.entries(r.reclosedBy)) total.reclosedBy[c] = (total.reclosedBy[c] ?? 0) + n;
}
