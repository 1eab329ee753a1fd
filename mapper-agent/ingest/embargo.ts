/**
 * Embargo enforcement: once a campaign's embargo has ended (or was removed), its data become
 * world-readable; when an admin sets an embargo again on released data (re-embargo), world read is
 * removed again. Both are the ingest engine in enforcement mode (engine.ts): it walks the data
 * roots, looks at files whose group is a campaign's and whose world read disagrees with that
 * campaign's embargo, reads each one's header through the verified descriptor (or decides from its
 * header seal while that holds: seal.ts) and changes it only when the classification says it is
 * that campaign's data and policy now says so. A group id alone opens nothing: quarantined files,
 * files of other campaigns in a setgid directory and files never classified stay as they are, and
 * are reported. Journaled in batches; a crashed run is
 * resumed only by this command, re-checked first. The campaigns' current embargo dates are read at
 * run time, and the time used is the directory server's (see clock.ts): a skewed or unknown clock
 * lifts nothing.
 */
import { isEmbargoed, releasesPerFile, type CampaignFacts, type Modes } from '../../core/embargo/policy.js';
import type { Classifier } from '../../core/embargo/classify.js';
import { emptyReport, IngestEngine, type EngineOptions, type ResumeReport } from './engine.js';
import type { Journal, PlannedChange } from './journal.js';
import { realpathSync } from 'node:fs';
import { startPool, workUnits, type WorkerPool } from './pool.js';

export interface LiftOptions {
  roots: string[];
  campaigns: CampaignFacts[];
  classifier: Classifier;
  modes: Modes;
  journal: Journal;
  /** the checked time (the directory server's); required: lifting never runs on an unchecked clock */
  now: Date;
  dryRun?: boolean;
  batchSize?: number;
  publicAreas?: string[];
  onFile?: () => void;
  onChange?: (change: PlannedChange) => void;
  /** after a batch is applied, with the verified descriptors (traces, Rucio): see EngineOptions */
  afterApply?: EngineOptions['afterApply'];
  /**
   * More than 1: the walk runs on that many worker threads (pool.ts), one directory at a time, with
   * the same engine and rules; changes come back to onChange after each directory. Not with
   * afterApply (it needs the descriptors, which stay in the worker): then one thread.
   */
  workers?: number;
  /** decide from header seals while they hold (EngineOptions.sealedHeaders); default true */
  sealedHeaders?: boolean;
  /** the host clock (EngineOptions.hostClockMs) */
  hostClockMs?: () => number;
  /** a tree with fewer directories is walked on one thread (starting workers costs more than it saves); default POOL_MIN_DIRECTORIES */
  poolMinDirectories?: number;
  /**
   * The workers, started by the caller before the campaigns were read (startPool, `workers` of
   * them); handed over: used, or terminated as soon as the run knows it will not use them. Without
   * it, liftEmbargoes starts them itself (with more than 1 worker) before resuming the journal.
   */
  pool?: WorkerPool;
}

/** Whether a run with these options may use the pool (the tree's size aside: see enoughForPool). */
function mayPool(o: Pick<LiftOptions, 'workers' | 'afterApply'>): boolean {
  return (o.workers ?? 1) > 1 && !o.afterApply;
}

export const POOL_MIN_DIRECTORIES = 16;

/**
 * The pool's work units when the tree has at least `min` directories (the first ones are read
 * ahead, then the rest of the walk follows lazily); undefined for a smaller tree.
 */
function enoughForPool(roots: string[], min: number): Iterator<string> | undefined {
  const walk = workUnits(roots, roots.map((r) => realpathSync(r)));
  const ahead: string[] = [];
  for (let d = walk.next(); !d.done; d = walk.next()) {
    ahead.push(d.value);
    if (ahead.length >= min) return (function* () {
      yield* ahead;
      yield* walk;
    })();
  }
  return undefined;
}

export interface LiftReport {
  /** campaigns whose embargo has ended */
  campaigns: string[];
  files: number;
  lifted: number;
  /** files of campaigns under embargo (again) that were world-readable and were closed */
  reclosed: number;
  /** per campaign, files closed again (for the PI's notice) */
  reclosedBy: Map<string, number>;
  /** files decided from their header seal (not read again) */
  sealed: number;
  /** files of an ended campaign's group that were not opened, with the reason in problems */
  notLifted: number;
  refused: number;
  /** per rolling campaign, the earliest own end still ahead among the files the run kept closed (for the PI's notice) */
  nextOpening: Map<string, Date>;
  resumed: ResumeReport;
  problems: string[];
}

/** Campaigns whose data should be public now; a rolling campaign past its floor: those of its files whose date passed. */
export function endedCampaigns(campaigns: CampaignFacts[], now: Date): CampaignFacts[] {
  return campaigns.filter((c) => !isEmbargoed(c, now));
}

/**
 * A rolling campaign (releasesPerFile) is looked at both ways: its closed files are opened and its
 * open files closed exactly as each file's own dates say (per file, from its header or seal).
 */
export async function liftEmbargoes(o: LiftOptions): Promise<LiftReport> {
  const ended = endedCampaigns(o.campaigns, o.now);
  const running = o.campaigns.filter((c) => isEmbargoed(c, o.now) || releasesPerFile(c, o.now));
  const byName = new Map(o.campaigns.map((c) => [c.name, c]));
  const engine = new IngestEngine({
    roots: o.roots, classifier: o.classifier, modes: o.modes, resolve: (n) => byName.get(n), journal: o.journal, now: o.now,
    enforce: { ended: new Map(ended.map((c) => [c.gid, c.name])), running: new Map(running.map((c) => [c.gid, c.name])) },
    ...(o.onChange ? { onChange: o.onChange } : {}),
    ...(o.dryRun !== undefined ? { dryRun: o.dryRun } : {}), ...(o.batchSize ? { batchSize: o.batchSize } : {}),
    ...(o.sealedHeaders !== undefined ? { sealedHeaders: o.sealedHeaders } : {}), ...(o.hostClockMs ? { hostClockMs: o.hostClockMs } : {}),
    ...(o.publicAreas ? { publicAreas: o.publicAreas } : {}), ...(o.onFile ? { onFile: o.onFile } : {}), ...(o.afterApply ? { afterApply: o.afterApply } : {}),
  });
  // The workers load their modules while the journal is resumed and the tree's first directories are read.
  const poolable = mayPool({ ...o, workers: o.pool?.size ?? o.workers });
  const pool = o.pool ?? (o.campaigns.length && poolable ? startPool(o.workers!) : undefined);
  let report = emptyReport();
  let resumed: ResumeReport;
  try {
    resumed = await engine.resume(); // what it finished is reported by it, not counted below
    const units = o.campaigns.length && pool && poolable ? enoughForPool(o.roots, o.poolMinDirectories ?? POOL_MIN_DIRECTORIES) : undefined;
    if (units) {
      report = await pool!.run(units, {
        roots: o.roots, classification: o.classifier.rules, modes: o.modes, campaigns: o.campaigns, journalPath: o.journal.file, dryRun: !!o.dryRun,
        batchSize: o.batchSize ?? 256, now: o.now.toISOString(), publicAreas: o.publicAreas ?? [],
        ...(o.sealedHeaders !== undefined ? { sealedHeaders: o.sealedHeaders } : {}),
        enforce: { ended: ended.map((c) => [c.gid, c.name]), running: running.map((c) => [c.gid, c.name]) }, forwardChanges: !!o.onChange,
      }, (r) => {
        if (o.onFile) for (let i = 0; i < r.report.files; i++) o.onFile();
        for (const c of r.changes ?? []) o.onChange?.(c);
      });
    } else {
      await pool?.terminate(); // unused: its threads go before the walk on this one
      if (o.campaigns.length) report = await engine.ingest(o.roots);
    }
  } finally {
    await pool?.terminate(); // a failure before or during the run: no worker outlives it
  }
  return {
    campaigns: ended.map((c) => c.name).sort(), files: report.files, lifted: report.lifted, sealed: report.sealed,
    reclosed: Object.values(report.reclosedBy).reduce((a, b) => a + b, 0), reclosedBy: new Map(Object.entries(report.reclosedBy)),
    notLifted: report.left, refused: report.refused, nextOpening: rollingOpenings(o, report.nextOpening), resumed, problems: [...resumed.problems, ...report.problems],
  };
}

/** The engine's next openings, for the rolling campaigns only (a campaign-date one opens on its date, told by the date notice). */
function rollingOpenings(o: LiftOptions, next: Record<string, number>): Map<string, Date> {
  const rolling = new Set(o.campaigns.filter((c) => releasesPerFile(c, o.now)).map((c) => c.name));
  return new Map(Object.entries(next).filter(([c]) => rolling.has(c)).map(([c, at]) => [c, new Date(at)]));
}
