/**
 * Embargo enforcement: once a campaign's embargo has ended (or was removed), its data become
 * world-readable; when an admin sets an embargo again on released data (re-embargo), world read is
 * removed again. Both are the ingest engine in enforcement mode (engine.ts): it walks the data
 * roots, looks at files whose group is a campaign's and whose world read disagrees with that
 * campaign's embargo, re-reads each one's header through the verified descriptor and changes it
 * only when the classification says it is that campaign's data and policy now says so. A group id
 * alone opens nothing: quarantined files, files of other campaigns in a setgid directory and files
 * never classified stay as they are, and are reported. Journaled in batches; a crashed run is
 * resumed only by this command, re-checked first. The campaigns' current embargo dates are read at
 * run time, and the time used is the directory server's (see clock.ts): a skewed or unknown clock
 * lifts nothing.
 */
import { fileEmbargo, isEmbargoed, releasesPerFile, type CampaignFacts, type Modes } from '../../core/embargo/policy.js';
import type { ObservationDate } from '../../core/fits/date.js';
import { Classifier, type Classification } from '../../core/embargo/classify.js';
import { IngestEngine, type EngineOptions, type ResumeReport } from './engine.js';
import type { Journal, PlannedChange } from './journal.js';

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
  /** files of an ended campaign's group that were not opened, with the reason in problems */
  notLifted: number;
  refused: number;
  /** per rolling campaign, the earliest own end still ahead among the files the run saw closed (for the PI's notice) */
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
 * open files closed exactly as each file's own dates say (the header is re-read, per file).
 */
export async function liftEmbargoes(o: LiftOptions): Promise<LiftReport> {
  const ended = endedCampaigns(o.campaigns, o.now);
  const running = o.campaigns.filter((c) => isEmbargoed(c, o.now) || releasesPerFile(c, o.now));
  const byName = new Map(o.campaigns.map((c) => [c.name, c]));
  let lifted = 0;
  const reclosedBy = new Map<string, number>();
  const watch = watchRollingDates(o);
  const engine = new IngestEngine({
    roots: o.roots, classifier: watch.classifier, modes: o.modes, resolve: (n) => byName.get(n), journal: watch.journal, now: o.now, onDecision: watch.onDecision,
    enforce: { ended: new Map(ended.map((c) => [c.gid, c.name])), running: new Map(running.map((c) => [c.gid, c.name])) },
    onChange: (change) => {
      if (change.kind === 'embargo-lift') lifted++;
      if (change.kind === 're-embargo') reclosedBy.set(change.campaign!, (reclosedBy.get(change.campaign!) ?? 0) + 1);
      o.onChange?.(change);
    },
    ...(o.dryRun !== undefined ? { dryRun: o.dryRun } : {}), ...(o.batchSize ? { batchSize: o.batchSize } : {}),
    ...(o.publicAreas ? { publicAreas: o.publicAreas } : {}), ...(o.onFile ? { onFile: o.onFile } : {}), ...(o.afterApply ? { afterApply: o.afterApply } : {}),
  });
  const resumed = await engine.resume();
  lifted = 0;
  reclosedBy.clear(); // what resume finished is reported by it
  watch.nextOpening.clear();
  const report = o.campaigns.length ? await engine.ingest(o.roots) : { files: 0, left: 0, refused: 0, problems: [] };
  return {
    campaigns: ended.map((c) => c.name).sort(), files: report.files, lifted, reclosed: [...reclosedBy.values()].reduce((a, b) => a + b, 0), reclosedBy,
    notLifted: report.left, refused: report.refused, nextOpening: watch.nextOpening, resumed, problems: [...resumed.problems, ...report.problems],
  };
}

/** A classifier that also tells what it classified (the engine classifies a file right before deciding it). */
class WatchedClassifier extends Classifier {
  constructor(inner: Classifier, private readonly seen: (path: string, c: Classification) => void) {
    super(inner.rules);
  }
  override classify(path: string, headers: Parameters<Classifier['classify']>[1]): Classification {
    const c = super.classify(path, headers);
    this.seen(path, c);
    return c;
  }
}

/**
 * What the PI's rolling notice needs from a run: for each rolling campaign past its floor, the
 * earliest own end still ahead among the campaign's files the run saw closed, by the same rule
 * that kept them closed (policy.fileEmbargo on the DATE-OBS the engine read and, for files without
 * one, the ingest time the engine looked up in the journal). The engine's decision for a file
 * follows its classification synchronously, so the last file classified is the one decided.
 */
function watchRollingDates(o: LiftOptions): { classifier: Classifier; journal: Journal; onDecision?: EngineOptions['onDecision']; nextOpening: Map<string, Date> } {
  const nextOpening = new Map<string, Date>();
  const rolling = new Map(o.campaigns.filter((c) => releasesPerFile(c, o.now)).map((c) => [c.gid, c]));
  if (!rolling.size) return { classifier: o.classifier, journal: o.journal, nextOpening };
  let seen: { path: string; campaign: string; observed?: ObservationDate; ingestedAt?: Date } | undefined;
  const classifier = new WatchedClassifier(o.classifier, (path, c) => {
    seen = c.kind === 'science' ? { path, campaign: c.campaign, ...(c.observed ? { observed: c.observed } : {}) } : undefined;
  });
  const journal = new Proxy(o.journal, {
    get(target, key) {
      if (key === 'ingestedAt') {
        return (...args: Parameters<Journal['ingestedAt']>) => {
          const at = target.ingestedAt(...args);
          if (seen?.path === args[0] && at) seen.ingestedAt = at;
          return at;
        };
      }
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const onDecision: EngineOptions['onDecision'] = (path, current) => {
    const c = rolling.get(current.gid);
    if (!c || seen?.path !== path || seen.campaign !== c.name) return;
    const at = seen.ingestedAt;
    const e = fileEmbargo(c, { ...(seen.observed ? { observed: seen.observed } : {}), ingestedAt: () => at }, o.now);
    const known = nextOpening.get(c.name);
    if (e.embargoed && e.until && e.until.getTime() > o.now.getTime() && (!known || e.until.getTime() < known.getTime())) nextOpening.set(c.name, e.until);
  };
  return { classifier, journal, onDecision, nextOpening };
}
