/**
 * The ingest-side commands: ingest, watch, verify, embargo. Each builds its engine from the
 * configuration, the campaign cache (LDAP) and the journal, and reports what it did.
 */
import { watch as fsWatch } from 'node:fs';
import { join, resolve } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { ConfigError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { Classifier } from '../../core/embargo/classify.js';
import { formatOwnership } from '../../core/embargo/policy.js';
import type { LdapConnection } from '../../core/ldap/connection.js';
import type { AgentConfig } from '../config.js';
import { adler32OfFile } from '../rucio/adler32.js';
import { RucioClient } from '../rucio/client.js';
import { CampaignCache } from './campaign-cache.js';
import { IngestEngine, type IngestReport } from './engine.js';
import { liftEmbargoes, type LiftReport } from './embargo.js';
import { Journal, type PlannedChange } from './journal.js';
import { ingestWithPool } from './pool.js';
import { sendEmbargoNotices } from './notices.js';

export interface IngestContext {
  cfg: AgentConfig;
  ldap: LdapConnection;
  log: Logger;
  out?: (line: string) => void;
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
  const bar = new SingleBar({ format: `${label} {value} files | {duration_formatted}`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
  bar.start(0, 0);
  return { tick: () => bar.increment(), stop: () => bar.stop() };
}

function printer(ctx: IngestContext, dryRun: boolean): (c: PlannedChange) => void {
  return (c) => ctx.out?.(`${dryRun ? 'would change' : 'changed'} ${c.path}: ${formatOwnership(c.before)} -> ${formatOwnership(c.target)} (${c.reason})`);
}

async function makeEngine(ctx: IngestContext, journal: Journal, opts: { dryRun: boolean; onChange?: (c: PlannedChange) => void; tick?: () => void }): Promise<{ engine: IngestEngine; cache: CampaignCache }> {
  const { cfg } = ctx;
  const cache = new CampaignCache(ctx.ldap, cfg.ldap.baseDn);
  await cache.refresh();
  const rucio = cfg.agent.rucio.enabled ? new RucioClient(cfg.agent.rucio) : undefined;
  const engine = new IngestEngine({
    roots: roots(cfg),
    classifier: new Classifier(cfg.agent.ingest.classification),
    modes: cfg.agent.ingest.modes,
    resolve: (name) => cache.get(name),
    journal,
    dryRun: opts.dryRun,
    batchSize: cfg.agent.ingest.batchSize,
    ...(opts.tick ? { onFile: opts.tick } : {}),
    ...(opts.onChange ? { onChange: opts.onChange } : {}),
    ...(rucio
      ? {
          afterApply: async (applied: PlannedChange[]) => {
            const files = applied.filter((c) => c.campaign).map((c) => ({ path: c.path, campaign: c.campaign!, ...adler32OfFile(c.path) }));
            if (files.length) await rucio.register(files);
          },
        }
      : {}),
  });
  return { engine, cache };
}

function summarize(ctx: IngestContext, what: string, r: IngestReport): void {
  ctx.out?.(`${what}: ${r.files} files, ${r.changed} changed, ${r.unchanged} already right, ${r.quarantined} quarantined, ${r.left} left alone, ${r.refused} refused, ${r.directories} directories opened`);
  for (const p of r.problems) ctx.out?.(`  ${p}`);
}

export async function ingestCommand(ctx: IngestContext, paths: string[], opts: { dryRun: boolean; verbose?: boolean; workers?: number }): Promise<IngestReport> {
  const journal = new Journal(journalPath(ctx.cfg), `ingest ${paths.join(' ')}`);
  const bar = progress('ingest');
  try {
    const { engine, cache } = await makeEngine(ctx, journal, { dryRun: opts.dryRun, tick: bar.tick, ...(opts.dryRun || opts.verbose ? { onChange: printer(ctx, opts.dryRun) } : {}) });
    const resumed = opts.dryRun ? { applied: 0, skipped: 0 } : engine.resume();
    if (resumed.applied || resumed.skipped) ctx.out?.(`resumed an interrupted run: ${resumed.applied} finished, ${resumed.skipped} skipped`);
    const workers = opts.workers ?? ctx.cfg.agent.ingest.workers;
    // Printing every change, dry runs and the Rucio hook need the main thread.
    const pooled = workers > 1 && !opts.dryRun && !opts.verbose && !ctx.cfg.agent.rucio.enabled;
    const report = pooled
      ? await ingestWithPool(paths.map((p) => resolve(p)), {
          roots: roots(ctx.cfg), classification: ctx.cfg.agent.ingest.classification, modes: ctx.cfg.agent.ingest.modes, campaigns: cache.all(),
          journalPath: journalPath(ctx.cfg), dryRun: false, batchSize: ctx.cfg.agent.ingest.batchSize, now: new Date().toISOString(),
        }, workers)
      : await engine.ingest(paths.map((p) => resolve(p)));
    bar.stop();
    summarize(ctx, opts.dryRun ? 'dry run' : 'ingest', report);
    return report;
  } finally {
    bar.stop();
    journal.close();
  }
}

/** verify: report every file whose owner/group/mode differs from policy; --fix repairs them. */
export async function verifyCommand(ctx: IngestContext, root: string, opts: { fix: boolean }): Promise<IngestReport> {
  const journal = new Journal(journalPath(ctx.cfg), `verify ${root}${opts.fix ? ' --fix' : ''}`);
  try {
    const drift: string[] = [];
    const { engine } = await makeEngine(ctx, journal, {
      dryRun: !opts.fix,
      onChange: (c) => drift.push(`${opts.fix ? 'fixed' : 'drift'} ${c.path}: is ${formatOwnership(c.before)}, policy ${formatOwnership(c.target)} (${c.reason})`),
    });
    const report = await engine.ingest([resolve(root)]);
    for (const d of drift) ctx.out?.(d);
    summarize(ctx, opts.fix ? 'verify --fix' : 'verify', report);
    return report;
  } finally {
    journal.close();
  }
}

export async function embargoCommand(ctx: IngestContext, opts: { dryRun: boolean; verbose?: boolean; now?: Date }): Promise<LiftReport> {
  const journal = new Journal(journalPath(ctx.cfg), `embargo${opts.dryRun ? ' --dry-run' : ''}`);
  const bar = progress('embargo');
  try {
    const cache = new CampaignCache(ctx.ldap, ctx.cfg.ldap.baseDn);
    await cache.refresh();
    await sendEmbargoNotices({
      campaigns: cache.all(), piMail: (c) => cache.piMail(c), journal, days: ctx.cfg.agent.ingest.noticeDays,
      smtpUrl: ctx.cfg.agent.ingest.smtpUrl, from: ctx.cfg.agent.ingest.noticeFrom, log: ctx.log, ...(opts.now ? { now: opts.now } : {}),
    });
    const report = liftEmbargoes({
      roots: roots(ctx.cfg), campaigns: cache.all(), journal, dryRun: opts.dryRun, onFile: bar.tick,
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.dryRun || opts.verbose ? { onChange: (c: PlannedChange) => ctx.out?.(`${opts.dryRun ? 'would open' : 'opened'} ${c.path}: ${formatOwnership(c.before)} -> ${formatOwnership(c.target)}`) } : {}),
    });
    bar.stop();
    ctx.out?.(`embargo: campaigns public now: ${report.campaigns.join(', ') || 'none'}; ${report.files} files looked at, ${report.lifted} ${opts.dryRun ? 'would be' : ''} made world-readable, ${report.refused} refused`);
    for (const p of report.problems) ctx.out?.(`  ${p}`);
    return report;
  } finally {
    bar.stop();
    journal.close();
  }
}

/** watch: ingest what is there, then every file once it has settled (no change for settleMs). */
export async function watchCommand(ctx: IngestContext, dir: string, stop: Promise<void>): Promise<void> {
  const journal = new Journal(journalPath(ctx.cfg), `watch ${dir}`);
  const { engine, cache } = await makeEngine(ctx, journal, { dryRun: false, onChange: printer(ctx, false) });
  const top = resolve(dir);
  engine.resume();
  summarize(ctx, 'initial ingest', await engine.ingest([top]));
  const seen = new Map<string, number>();
  const watcher = fsWatch(top, { recursive: true }, (_event, name) => {
    if (name) seen.set(join(top, name.toString()), Date.now());
  });
  const settle = ctx.cfg.agent.ingest.settleMs;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    const ready = [...seen].filter(([, at]) => Date.now() - at >= settle).map(([p]) => p);
    if (!ready.length) return;
    for (const p of ready) seen.delete(p);
    busy = true;
    cache
      .refresh()
      .then(() => engine.ingest(ready))
      .then((r) => r.files && summarize(ctx, 'ingest', r))
      .catch((err: Error) => ctx.log.error({ err: err.message }, 'ingest failed; the files stay as they are and will be retried on their next change'))
      .finally(() => (busy = false));
  }, Math.max(200, Math.min(1000, settle / 2)));
  await stop;
  clearInterval(timer);
  watcher.close();
  journal.close();
}
