/**
 * Embargo lifting: once a campaign's embargo has ended (or was removed), its data become
 * world-readable. Lifting is the ingest engine in lifting mode (engine.ts): it walks the data roots,
 * looks at files whose group is an ended campaign's and that lack world read, re-reads each one's
 * header through the verified descriptor and opens it only when the classification says it is that
 * campaign's data and policy now makes it public. A group id alone opens nothing: quarantined files,
 * files of other campaigns in a setgid directory and files never classified stay as they are, and
 * are reported. Journaled in batches; a crashed lift is resumed only by lifting, re-checked first.
 * The campaign's current embargo date is read at run time, and the time used is the directory
 * server's (see clock.ts): a skewed or unknown clock lifts nothing.
 */
import { isEmbargoed, type CampaignFacts, type Modes } from '../../core/embargo/policy.js';
import type { Classifier } from '../../core/embargo/classify.js';
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
  campaigns: string[];
  files: number;
  lifted: number;
  /** files of an ended campaign's group that were not opened, with the reason in problems */
  notLifted: number;
  refused: number;
  resumed: ResumeReport;
  problems: string[];
}

/** Campaigns whose data should be public now. */
export function endedCampaigns(campaigns: CampaignFacts[], now: Date): CampaignFacts[] {
  return campaigns.filter((c) => !isEmbargoed(c, now));
}

export async function liftEmbargoes(o: LiftOptions): Promise<LiftReport> {
  const ended = endedCampaigns(o.campaigns, o.now);
  const byName = new Map(o.campaigns.map((c) => [c.name, c]));
  const engine = new IngestEngine({
    roots: o.roots, classifier: o.classifier, modes: o.modes, resolve: (n) => byName.get(n), journal: o.journal, now: o.now,
    lift: new Map(ended.map((c) => [c.gid, c.name])),
    ...(o.dryRun !== undefined ? { dryRun: o.dryRun } : {}), ...(o.batchSize ? { batchSize: o.batchSize } : {}),
    ...(o.publicAreas ? { publicAreas: o.publicAreas } : {}), ...(o.onFile ? { onFile: o.onFile } : {}), ...(o.onChange ? { onChange: o.onChange } : {}), ...(o.afterApply ? { afterApply: o.afterApply } : {}),
  });
  const resumed = await engine.resume();
  const report = ended.length ? await engine.ingest(o.roots) : { files: 0, changed: 0, left: 0, refused: 0, problems: [] };
  return {
    campaigns: ended.map((c) => c.name).sort(), files: report.files, lifted: report.changed, notLifted: report.left, refused: report.refused, resumed,
    problems: [...resumed.problems, ...report.problems],
  };
}
