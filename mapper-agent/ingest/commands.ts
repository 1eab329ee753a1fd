/**
 * The ingest-side commands: ingest, watch, verify, embargo. Each builds its engine from the
 * configuration, the campaign cache (LDAP) and the journal, and reports what it did.
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { Classifier } from '../../core/embargo/classify.js';
import { formatOwnership } from '../../core/embargo/policy.js';
import type { LdapConnection } from '../../core/ldap/connection.js';
import type { AgentConfig } from '../config.js';
import type { AgentMetrics } from '../metrics.js';
import { adler32OfFd } from '../rucio/adler32.js';
import { checkClock, ClockRefusedError, type ClockCheck } from '../clock.js';
import { RucioClient } from '../rucio/client.js';
import { fileEmbargoMetadata } from '../rucio/file-embargo.js';
import type { CampaignFacts } from '../../core/embargo/policy.js';
import { CampaignCache } from './campaign-cache.js';
import { IngestEngine, type AppliedChange, type EngineOptions, type IngestReport, type ResumeReport } from './engine.js';
import type { ComplianceReport } from './report.js';
import type { LiftReport } from './embargo.js';
import type { WorkerPool } from './pool.js';
import { Journal, type PlannedChange } from './journal.js';
import { OwnChanges } from './watch-events.js';
import { count } from '../../core/plural.js';
import { hostname } from 'node:os';
import type { TraceSession, TraceContext } from '../traces/session.js';

// Loaded by the commands that use them, so that an ingest starts without them: mail (nodemailer)
// for notices and the digest, the worker pool, embargo lifting, the compliance report, and the
// progress bar (only on a terminal).
const notices = () => import('./notices.js');
const digest = () => import('./digest.js');
const pool = () => import('./pool.js');
const embargo = () => import('./embargo.js');
const compliance = () => import('./report.js');
const require = createRequire(import.meta.url);

export interface IngestContext {
  cfg: AgentConfig;
  ldap: LdapConnection;
  log: Logger;
  out?: (line: string) => void;
  metrics?: AgentMetrics;
  /** this host's clock (tests skew it) */
  localClock?: () => Date;
  /**
   * Pool workers its caller started even earlier (the CLI, before reading the configuration), for
   * one ingest or embargo command: handed over, used when the command pools with as many workers,
   * terminated otherwise.
   */
  pool?: WorkerPool;
}

/**
 * The time embargo decisions are made at: the directory server's, when this host's clock agrees
 * with it; null otherwise (logged), which makes every dated embargo hold (fail closed).
 */
async function decisionTime(ctx: IngestContext): Promise<Date | null> {
  const check = await clock(ctx);
  if (check.ok) return check.now;
  ctx.log.error({ reason: check.reason, skewSeconds: check.skewSeconds }, 'clock not trusted: every dated embargo is treated as running');
  return null;
}

async function clock(ctx: IngestContext): Promise<ClockCheck> {
  const check = await checkClock(ctx.ldap, ctx.cfg.agent.ingest.maxClockSkewSeconds, ctx.localClock);
  if (check.skewSeconds !== undefined) ctx.metrics?.clockSkew.set(check.skewSeconds);
  if (!check.ok) ctx.metrics?.clockRefusals.inc();
  return check;
}

export function journalPath(cfg: AgentConfig): string {
  return join(cfg.agent.stateDir, 'ingest.sqlite');
}

function roots(cfg: AgentConfig): string[] {
  if (!cfg.agent.ingest.roots.length) throw new ConfigError('agent.ingest.roots is empty: configure the data roots the agent may change');
  return cfg.agent.ingest.roots;
}

/** A progress bar on a terminal, nothing otherwise. */
function progress(label: string): { tick: () => void; stop: () => void } {
  if (!process.stderr.isTTY) return { tick: () => undefined, stop: () => undefined };
  const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
  const bar = new SingleBar({ format: `${label} {value} files | {duration_formatted}`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
  bar.start(0, 0);
  return { tick: () => bar.increment(), stop: () => bar.stop() };
}

function printer(ctx: IngestContext, dryRun: boolean): (c: PlannedChange) => void {
  return (c) => ctx.out?.(`${dryRun ? 'would change' : 'changed'} ${c.path}: ${formatOwnership(c.before)} -> ${formatOwnership(c.target)} (${c.reason})`);
}

/** Applied ingest changes feed the latency metric (arrival to correct mode). */
function latency(ctx: IngestContext): (c: PlannedChange) => void {
  return (c) => {
    if (c.arrivedMs !== undefined && c.kind === 'ingest') ctx.metrics?.ingestLatency.observe(Math.max(0, (Date.now() - c.arrivedMs) / 1000));
  };
}

/** Signed traces of what this command applies (agent.traces); none in a dry run or when off. Refused (exit 4) when it cannot sign. */
async function openTraces(ctx: IngestContext, journal: Journal, command: string, dryRun: boolean, extra: Partial<TraceContext> = {}): Promise<TraceSession | undefined> {
  if (dryRun || !ctx.cfg.agent.traces.enabled) return undefined;
  // Loaded only when traces are on: signing pulls in pkijs and @peculiar/x509, a large share of an ingest's start-up.
  const { TraceSession } = await import('../traces/session.js');
  return TraceSession.open(ctx.cfg.agent.traces, ctx.cfg.agent.stateDir, { command, run: journal.run, adler32: ctx.cfg.agent.rucio.enabled, ...extra });
}

function closeTraces(ctx: IngestContext, traces: TraceSession | undefined): void {
  if (!traces) return;
  for (const p of traces.problems) ctx.out?.(`  ${p}`);
  traces.close();
}

/**
 * The engine hooks of traces and Rucio, composed: onChange traces every applied change (and then
 * prints it); afterApply traces the batch with checksums read through the engine's descriptors,
 * then tells Rucio: ingest registers the files (with the Adler-32 read for the trace: one read per
 * file) and their embargo metadata; enforcement updates the embargo metadata of released and
 * re-embargoed files. A Rucio failure is reported, not fatal (the engine reports afterApply errors).
 */
function hooks(
  ctx: IngestContext, traces: TraceSession | undefined, onChange: ((c: PlannedChange) => void) | undefined,
  rucioUse: { mode: 'register' | 'update-embargo'; facts: (campaign: string) => CampaignFacts | undefined; journal: Journal },
): Pick<ConstructorParameters<typeof IngestEngine>[0], 'onChange' | 'afterApply'> {
  const rucio = ctx.cfg.agent.rucio.enabled ? new RucioClient(ctx.cfg.agent.rucio) : undefined;
  const change = traces && onChange ? (c: PlannedChange) => (traces.onChange(c), onChange(c)) : (traces?.onChange ?? onChange);
  // Each file's own end and DATE-OBS (rolling release), re-read through the applied change's descriptor.
  const embargoOf = rucio ? fileEmbargoMetadata({ facts: rucioUse.facts, classifier: new Classifier(ctx.cfg.agent.ingest.classification), ingestedAt: (...k) => rucioUse.journal.ingestedAt(...k) }) : undefined;
  return {
    ...(change ? { onChange: change } : {}),
    ...(rucio || traces
      ? {
          // Checksums through the descriptor the change was applied through: never re-open a path as root.
          afterApply: async (applied: AppliedChange[]) => {
            let sums: ReturnType<TraceSession['afterApply']> | undefined;
            let failed: unknown;
            try {
              sums = traces?.afterApply(applied);
            } catch (err) {
              failed = err;
            }
            const data = applied.filter((a) => a.change.campaign && a.change.kind !== 'quarantine');
            if (rucio && data.length && rucioUse.mode === 'register') {
              await rucio.register(data.map((a) => ({ path: a.change.path, campaign: a.change.campaign!, ...(sums?.get(a.change) ?? adler32OfFd(a.fd, a.size)), embargo: embargoOf!(a) })));
            } else if (rucio && data.length) {
              await rucio.updateEmbargo(data.map((a) => ({ path: a.change.path, campaign: a.change.campaign!, embargo: embargoOf!(a) })));
            }
            if (failed) throw new Error(`traces not written: ${(failed as Error).message}`);
          },
        }
      : {}),
  };
}

/**
 * The engine, once both the decision time (`now`: the clock check, under way) and the campaigns are
 * in: the two reads are independent round trips and run together; nothing is decided before both
 * have ended (either's failure fails the command, the clock's first, as when they ran in turn).
 */
async function makeEngine(ctx: IngestContext, journal: Journal, opts: { dryRun: boolean; now: Date | null | Promise<Date | null>; onChange?: (c: PlannedChange) => void; tick?: () => void; traces?: TraceSession; onDecision?: EngineOptions['onDecision'] }): Promise<{ engine: IngestEngine; cache: CampaignCache; now: Date | null }> {
  const { cfg } = ctx;
  const cache = new CampaignCache(ctx.ldap, cfg.ldap.baseDn);
  const [time, refreshed] = await Promise.allSettled([opts.now, cache.refresh()]);
  if (time.status === 'rejected') throw time.reason;
  if (refreshed.status === 'rejected') throw refreshed.reason;
  const now = time.value;
  const engine = new IngestEngine({
    roots: roots(cfg),
    classifier: new Classifier(cfg.agent.ingest.classification),
    modes: cfg.agent.ingest.modes,
    resolve: (name) => cache.get(name),
    journal,
    dryRun: opts.dryRun,
    now,
    batchSize: cfg.agent.ingest.batchSize,
    publicAreas: cfg.agent.ingest.publicAreas,
    ...(opts.tick ? { onFile: opts.tick } : {}),
    ...(opts.onDecision ? { onDecision: opts.onDecision } : {}),
    ...hooks(ctx, opts.traces, opts.onChange, { mode: 'register', facts: (n) => cache.get(n), journal }),
  });
  return { engine, cache, now };
}

function summarizeResume(ctx: IngestContext, r: ResumeReport): void {
  if (r.finished + r.dropped + r.skipped === 0) return;
  ctx.out?.(`resumed an interrupted run: ${r.finished} finished, ${count(r.dropped, 'stale plan')} dropped, ${r.skipped} skipped`);
  for (const p of r.problems) ctx.out?.(`  ${p}`);
}

function summarize(ctx: IngestContext, what: string, r: IngestReport): void {
  ctx.out?.(`${what}: ${count(r.files, 'file')}, ${r.changed} changed, ${r.unchanged} already right, ${r.quarantined} quarantined, ${r.left} left alone, ${r.refused} refused, ${count(r.directories, 'directory', 'directories')} opened`);
  for (const p of r.problems) ctx.out?.(`  ${p}`);
}

/**
 * The pool of a command: the one its caller started (ctx.pool) when the command will pool with as
 * many workers, else a new one; none (the given one terminated) when the command will not pool.
 * Started as early as possible: the workers load their modules while this thread reads the clock,
 * the campaigns and resumes the journal; they are given the job (and touch files) only after that.
 */
async function takePool(ctx: IngestContext, workers: number, pooled: boolean): Promise<WorkerPool | undefined> {
  if (pooled && ctx.pool?.fresh && ctx.pool.size === workers) return ctx.pool;
  await ctx.pool?.terminate();
  return pooled ? (await pool()).startPool(workers) : undefined;
}

export async function ingestCommand(ctx: IngestContext, paths: string[], opts: { dryRun: boolean; verbose?: boolean; workers?: number }): Promise<IngestReport> {
  const workers = opts.workers ?? ctx.cfg.agent.ingest.workers;
  // Printing every change, dry runs, the Rucio hook and traces need the main thread.
  const pooled = workers > 1 && !opts.dryRun && !opts.verbose && !ctx.cfg.agent.rucio.enabled && !ctx.cfg.agent.traces.enabled;
  const started = await takePool(ctx, workers, pooled);
  let journal: Journal | undefined;
  const bar = progress('ingest');
  let traces: TraceSession | undefined;
  try {
    journal = new Journal(journalPath(ctx.cfg), `ingest ${paths.join(' ')}`);
    traces = await openTraces(ctx, journal, `ingest ${paths.join(' ')}`, opts.dryRun);
    const { engine, cache, now } = await makeEngine(ctx, journal, { dryRun: opts.dryRun, now: decisionTime(ctx), tick: bar.tick, ...(traces ? { traces } : {}), ...(opts.dryRun || opts.verbose ? { onChange: printer(ctx, opts.dryRun) } : {}) });
    if (!opts.dryRun) summarizeResume(ctx, await engine.resume());
    const report = started
      ? await (await pool()).ingestWithPool(paths.map((p) => resolve(p)), {
          roots: roots(ctx.cfg), classification: ctx.cfg.agent.ingest.classification, modes: ctx.cfg.agent.ingest.modes, campaigns: cache.all(),
          journalPath: journalPath(ctx.cfg), dryRun: false, batchSize: ctx.cfg.agent.ingest.batchSize, now: now?.toISOString() ?? null,
          publicAreas: ctx.cfg.agent.ingest.publicAreas,
        }, started)
      : await engine.ingest(paths.map((p) => resolve(p)));
    bar.stop();
    summarize(ctx, opts.dryRun ? 'dry run' : 'ingest', report);
    return report;
  } finally {
    bar.stop();
    try {
      closeTraces(ctx, traces);
    } finally {
      journal?.close();
      await started?.terminate(); // unused (the command failed first) or stopped after a worker's failure: none outlives the command
    }
  }
}

/** verify: report every file whose owner/group/mode differs from policy; --fix repairs them. */
export async function verifyCommand(ctx: IngestContext, root: string, opts: { fix: boolean }): Promise<IngestReport> {
  const journal = new Journal(journalPath(ctx.cfg), `verify ${root}${opts.fix ? ' --fix' : ''}`);
  let traces: TraceSession | undefined;
  try {
    traces = await openTraces(ctx, journal, `verify ${root} --fix`, !opts.fix, { ingestEvent: 'fix' });
    const drift: string[] = [];
    const { engine } = await makeEngine(ctx, journal, {
      dryRun: !opts.fix,
      now: decisionTime(ctx),
      ...(traces ? { traces } : {}),
      onChange: (c) => drift.push(`${opts.fix ? 'fixed' : 'drift'} ${c.path}: is ${formatOwnership(c.before)}, policy ${formatOwnership(c.target)} (${c.reason})`),
    });
    const report = await engine.ingest([resolve(root)]);
    for (const d of drift) ctx.out?.(d);
    summarize(ctx, opts.fix ? 'verify --fix' : 'verify', report);
    return report;
  } finally {
    try {
      closeTraces(ctx, traces);
    } finally {
      journal.close();
    }
  }
}

export async function embargoCommand(ctx: IngestContext, opts: { dryRun: boolean; verbose?: boolean; workers?: number }): Promise<LiftReport> {
  const workers = opts.workers ?? ctx.cfg.agent.ingest.workers;
  // The pool is skipped when traces or Rucio need the descriptors (afterApply) and, in liftEmbargoes,
  // for a small tree (then stopped unused).
  const afterApply = ctx.cfg.agent.rucio.enabled || (ctx.cfg.agent.traces.enabled && !opts.dryRun);
  const started = await takePool(ctx, workers, workers > 1 && !afterApply);
  try {
    return await embargoRun(ctx, opts, workers, started);
  } finally {
    await started?.terminate();
  }
}

async function embargoRun(ctx: IngestContext, opts: { dryRun: boolean; verbose?: boolean }, workers: number, started: WorkerPool | undefined): Promise<LiftReport> {
  const check = await clock(ctx);
  if (!check.ok) throw new ClockRefusedError(`embargo lifting refused: ${check.reason}`);
  const [{ sendEmbargoNotices, sendReembargoNotices, sendRollingNotices }, { liftEmbargoes }] = await Promise.all([notices(), embargo()]);
  const journal = new Journal(journalPath(ctx.cfg), `embargo${opts.dryRun ? ' --dry-run' : ''}`);
  const bar = progress('embargo');
  let traces: TraceSession | undefined;
  try {
    traces = await openTraces(ctx, journal, 'embargo', opts.dryRun);
    const cache = new CampaignCache(ctx.ldap, ctx.cfg.ldap.baseDn);
    await cache.refresh();
    const notices = {
      campaigns: cache.all(), piMail: (c: string) => cache.piMail(c), journal, days: ctx.cfg.agent.ingest.noticeDays,
      smtpUrl: ctx.cfg.agent.ingest.smtpUrl, from: ctx.cfg.agent.ingest.noticeFrom, portalUrl: ctx.cfg.agent.ingest.portalUrl, log: ctx.log, now: check.now,
    };
    await sendEmbargoNotices(notices);
    const report = await liftEmbargoes({
      roots: roots(ctx.cfg), campaigns: cache.all(), classifier: new Classifier(ctx.cfg.agent.ingest.classification), modes: ctx.cfg.agent.ingest.modes,
      journal, now: check.now, dryRun: opts.dryRun, onFile: bar.tick, batchSize: ctx.cfg.agent.ingest.batchSize, publicAreas: ctx.cfg.agent.ingest.publicAreas,
      sealedHeaders: ctx.cfg.agent.ingest.sealedHeaders,
      workers, ...(started ? { pool: started } : {}), // the pool is skipped when traces or Rucio need the descriptors (afterApply)
      ...hooks(ctx, traces, opts.dryRun || opts.verbose
        ? (c: PlannedChange) => ctx.out?.(`${(c.kind === 're-embargo' ? ['closed', 'would close'] : ['opened', 'would open'])[opts.dryRun ? 1 : 0]} ${c.path}: ${formatOwnership(c.before)} -> ${formatOwnership(c.target)}`)
        : undefined, { mode: 'update-embargo', facts: (n) => cache.get(n), journal }),
    });
    bar.stop();
    summarizeResume(ctx, report.resumed);
    if (!opts.dryRun) await sendRollingNotices(notices, report.nextOpening);
    if (!opts.dryRun && report.reclosed) {
      await sendReembargoNotices({ piMail: (c) => cache.piMail(c), smtpUrl: ctx.cfg.agent.ingest.smtpUrl, from: ctx.cfg.agent.ingest.noticeFrom, log: ctx.log }, report.reclosedBy);
    }
    const would = opts.dryRun ? 'would be ' : '';
    ctx.out?.(`embargo: campaigns public now: ${report.campaigns.join(', ') || 'none'}; ${count(report.files, 'file')} whose world read disagrees with their campaign's embargo: ` +
      `${report.lifted} ${would}made world-readable, ${report.reclosed} ${would}closed again (re-embargo), ${report.notLifted} left (not attributable to the campaign), ${report.refused} refused` +
      (report.sealed ? `; ${count(report.sealed, 'header')} not read again (sealed, unchanged since)` : ''));
    for (const p of report.problems) ctx.out?.(`  ${p}`);
    return report;
  } finally {
    bar.stop();
    try {
      closeTraces(ctx, traces);
    } finally {
      journal.close();
    }
  }
}

/**
 * A reconciliation pass over the data roots: catches every file no event announced (files written
 * through dCache's doors or other NFS clients raise no inotify event here) and every file a failed
 * round left behind. Incremental passes look only at files whose status changed since the start of
 * the last completed pass (less a margin); a pass counts as completed only when it ran to its end,
 * so after an outage the next pass looks back far enough. A full pass looks at everything.
 */
export async function reconcileCommand(ctx: IngestContext, opts: { full: boolean; dryRun?: boolean }): Promise<IngestReport> {
  const journal = new Journal(journalPath(ctx.cfg), `reconcile${opts.full ? ' --full' : ''}`);
  try {
    const started = Date.now();
    const last = opts.full ? undefined : journal.lastCompletedPassStart();
    const changedSinceMs = last === undefined ? undefined : last - ctx.cfg.agent.ingest.reconcileMarginSeconds * 1000;
    const pass = opts.dryRun ? undefined : journal.passStarted(changedSinceMs === undefined ? 'full' : 'incremental', started);
    const { engine } = await makeEngine(ctx, journal, { dryRun: !!opts.dryRun, now: decisionTime(ctx), onChange: opts.dryRun ? printer(ctx, true) : latency(ctx) });
    if (!opts.dryRun) summarizeResume(ctx, await engine.resume());
    const report = await engine.ingest(roots(ctx.cfg), changedSinceMs === undefined ? {} : { changedSinceMs });
    if (pass !== undefined) {
      journal.passFinished(pass, Date.now());
      journal.retried(journal.dueRetries(Number.MAX_SAFE_INTEGER).filter((p) => roots(ctx.cfg).some((r) => p === r || p.startsWith(`${r}/`))));
    }
    summarize(ctx, `reconcile (${changedSinceMs === undefined ? 'full' : `files changed since ${new Date(changedSinceMs).toISOString()}`})`, report);
    return report;
  } finally {
    journal.close();
  }
}

/**
 * watch: ingest what is there, then every file once it has settled (no change for settleMs). A
 * failed round (directory unreachable, anything) never stops the watch: its paths are kept in the
 * journal and tried again with a growing delay (up to five minutes), across restarts too. Bad files
 * never fail a round: the engine quarantines them one by one. When the kernel cannot watch the
 * tree (inotify limits on a tree of a million files), the watch scans it for changed files every
 * agent.ingest.scanFallbackSeconds instead, and says so.
 */
export async function watchCommand(ctx: IngestContext, dir: string, stop: Promise<void>): Promise<void> {
  const journal = new Journal(journalPath(ctx.cfg), `watch ${dir}`);
  let traces: TraceSession | undefined;
  try {
    traces = await openTraces(ctx, journal, `watch ${dir}`, false);
  } catch (err) {
    journal.close();
    throw err;
  }
  const top = resolve(dir);
  const settleMs = ctx.cfg.agent.ingest.settleMs;
  const settling = new Map<string, number>([[top, 0]]); // path -> when it may be ingested
  let engine: IngestEngine | undefined;
  let cache: CampaignCache | undefined;
  let scanning: { every: number; next: number; since: number } | undefined;
  let watcher: FSWatcher | undefined;
  const own = new OwnChanges();
  const fallBackToScanning = (why: string) => {
    if (scanning) return;
    watcher?.close();
    scanning = { every: ctx.cfg.agent.ingest.scanFallbackSeconds * 1000, next: 0, since: Date.now() };
    ctx.log.warn({ dir: top, reason: why, everySeconds: scanning.every / 1000 }, 'cannot watch the tree for events: scanning it for changed files instead');
  };
  try {
    watcher = fsWatch(top, { recursive: true }, (_event, name) => {
      if (name) settling.set(join(top, name.toString()), Date.now() + settleMs);
    });
    watcher.on('error', (err) => fallBackToScanning((err as Error).message));
  } catch (err) {
    fallBackToScanning((err as Error).message);
  }
  const round = async (): Promise<void> => {
    const now = Date.now();
    const ready = [...settling].filter(([, at]) => now >= at).map(([p]) => p);
    for (const p of ready) settling.delete(p);
    const retries = journal.dueRetries(now).filter((p) => p === top || p.startsWith(`${top}/`));
    const scan = scanning && now >= scanning.next ? scanning : undefined;
    const paths = [...new Set([...ready.filter((p) => !own.isOwn(p)), ...retries])];
    if (!paths.length && !scan) return;
    try {
      const decideAt = await decisionTime(ctx);
      if (!engine || !cache) {
        const print = printer(ctx, false);
        const measure = latency(ctx);
        ({ engine, cache } = await makeEngine(ctx, journal, { dryRun: false, now: decideAt, onChange: (c) => (own.record(c.path), print(c), measure(c)), ...(traces ? { traces } : {}) }));
        summarizeResume(ctx, await engine.resume());
      } else await cache.refresh();
      engine.at(decideAt);
      if (paths.length) {
        const r = await engine.ingest(paths);
        if (r.files || r.refused) summarize(ctx, paths.includes(top) ? 'initial ingest' : 'ingest', r);
        journal.retried(retries);
      }
      if (scan) {
        const r = await engine.ingest([top], { changedSinceMs: scan.since - ctx.cfg.agent.ingest.reconcileMarginSeconds * 1000 });
        if (r.files || r.refused) summarize(ctx, 'scan', r);
        scan.since = now;
        scan.next = now + scan.every;
      }
      traces?.store.seal(true); // every round's traces signed when the round ends
    } catch (err) {
      journal.retryLater(paths, (err as Error).message, Date.now());
      if (scan) scan.next = Date.now() + Math.min(scan.every, 5000);
      ctx.log.error({ err: (err as Error).message, files: paths.length }, 'ingest round failed; its files are queued again (kept in the journal)');
    }
  };
  let busy: Promise<void> | undefined;
  const timer = setInterval(() => {
    busy ??= round().finally(() => (busy = undefined));
  }, Math.max(200, Math.min(1000, settleMs / 2)));
  await stop;
  clearInterval(timer);
  watcher?.close();
  await busy;
  try {
    closeTraces(ctx, traces);
  } finally {
    journal.close();
  }
}

/** The admins' digest of what was quarantined since the last one (daemon: agent.ingest.digestSchedule). */
export async function digestCommand(ctx: IngestContext): Promise<number> {
  const journal = new Journal(journalPath(ctx.cfg), 'digest');
  try {
    const i = ctx.cfg.agent.ingest;
    const { sendQuarantineDigest } = await digest();
    return await sendQuarantineDigest({ journal, to: i.adminMail, smtpUrl: i.smtpUrl, from: i.noticeFrom, log: ctx.log, host: hostname() });
  } finally {
    journal.close();
  }
}

/** The embargo compliance report (report.ts): a read-only walk of the data roots plus the journal's history. */
export async function reportCommand(ctx: IngestContext, opts: { format: 'json' | 'csv' | 'text'; publish?: boolean }): Promise<ComplianceReport> {
  const { ComplianceCollector, complianceCsv } = await compliance();
  const journal = new Journal(journalPath(ctx.cfg), 'report');
  try {
    const collector = new ComplianceCollector();
    const { engine } = await makeEngine(ctx, journal, { dryRun: true, now: decisionTime(ctx), onDecision: collector.onDecision });
    await engine.ingest(roots(ctx.cfg));
    const r = collector.report(journal);
    if (opts.format === 'json') ctx.out?.(JSON.stringify(r, null, 2));
    else if (opts.format === 'csv') ctx.out?.(complianceCsv(r).trimEnd());
    else {
      for (const c of r.campaigns) {
        ctx.out?.(`${c.campaign}: ${count(c.files, 'file')}, ${c.closed} under embargo, ${c.public} public, ${c.drift} not as policy says; ` +
          `released ${count(c.released.files, 'file')}${c.released.last ? ` (last ${c.released.last})` : ''}, re-embargoed ${count(c.reembargoed.files, 'file')}`);
      }
      ctx.out?.(`not attributable to a campaign (quarantined): ${r.quarantined}`);
    }
    if (opts.publish) {
      // Signed with the trace-signing host certificate and sent to the portal (publish.ts); a refusal is an error.
      const { publishReport } = await import('./publish.js');
      const done = await publishReport(ctx.cfg, r);
      ctx.log.info({ documents: done.documents, host: done.host, url: ctx.cfg.agent.report.publishUrl }, 'compliance report published');
      if (opts.format === 'text') {
        ctx.out?.(done.documents ? `published to ${ctx.cfg.agent.report.publishUrl}: ${count(done.documents, 'campaign document')} signed as ${done.host}` : 'nothing published: no campaign has files under the data roots');
      }
    }
    return r;
  } finally {
    journal.close();
  }
}
