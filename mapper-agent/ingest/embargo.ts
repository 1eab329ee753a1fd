/**
 * Embargo lifting: once a campaign's embargo has ended (or was removed), every file of the
 * campaign (group = the campaign's gid) under the data roots that lacks world read gets it (and
 * group read), through the same safe descriptor path as ingest, journaled in batches, resumable.
 * The campaign's current embargo date is read at run time, so an embargo extended before it ended
 * is respected. Walks stream (walkSafely, shared with ingest); memory is flat in the number of files.
 */
import { realpathSync } from 'node:fs';
import { isEmbargoed, type CampaignFacts } from '../../core/embargo/policy.js';
import { applyOwnership, close, ownershipOf, Refused, walkSafely } from './safe-file.js';
import type { Journal, PlannedChange } from './journal.js';

export interface LiftOptions {
  roots: string[];
  campaigns: CampaignFacts[];
  journal: Journal;
  now?: Date;
  dryRun?: boolean;
  batchSize?: number;
  onFile?: () => void;
  onChange?: (change: PlannedChange) => void;
}

export interface LiftReport {
  campaigns: string[];
  files: number;
  lifted: number;
  refused: number;
  problems: string[];
}

/** Campaigns whose data should be public now. */
export function endedCampaigns(campaigns: CampaignFacts[], now: Date): CampaignFacts[] {
  return campaigns.filter((c) => !isEmbargoed(c, now));
}

export function liftEmbargoes(o: LiftOptions): LiftReport {
  const now = o.now ?? new Date();
  const ended = endedCampaigns(o.campaigns, now);
  const byGid = new Map(ended.map((c) => [c.gid, c.name]));
  const report: LiftReport = { campaigns: ended.map((c) => c.name).sort(), files: 0, lifted: 0, refused: 0, problems: [] };
  if (byGid.size === 0) return report;
  const roots = o.roots.map((r) => realpathSync(r));
  let batch: { change: PlannedChange; fd: number }[] = [];

  const flush = () => {
    const current = batch;
    batch = [];
    if (!current.length) return;
    try {
      if (o.dryRun) return;
      const ids = o.journal.plan(current.map((b) => b.change));
      const done = current.map((b, i) => {
        try {
          applyOwnership(b.fd, b.change.target);
          return { id: ids[i]!, state: 'applied' as const };
        } catch (err) {
          return { id: ids[i]!, state: 'skipped' as const, reason: `apply failed: ${(err as Error).message}` };
        }
      });
      o.journal.finish(done);
    } finally {
      for (const b of current) close(b.fd);
    }
  };

  for (const item of walkSafely(roots, roots)) {
    if (item.kind === 'problem') {
      report.problems.push(`${item.path}: not walked: ${item.reason}`);
      continue;
    }
    if (item.kind !== 'file') continue; // symlinks, FIFOs, devices are never data files
    report.files++;
    o.onFile?.();
    let opened;
    try {
      opened = item.open();
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      report.refused++;
      if (report.problems.length < 200) report.problems.push(`${item.path}: refused: ${err.message}`);
      continue;
    }
    const before = ownershipOf(opened.stat);
    const campaign = byGid.get(before.gid);
    if (campaign === undefined || (before.mode & 0o044) === 0o044) {
      close(opened.fd);
      continue;
    }
    const change: PlannedChange = {
      path: item.path, dev: opened.stat.dev, ino: opened.stat.ino, campaign, kind: 'embargo-lift', before,
      target: { ...before, mode: (before.mode | 0o044) & 0o777 }, reason: `embargo of ${campaign} ended`,
    };
    report.lifted++;
    o.onChange?.(change);
    batch.push({ change, fd: opened.fd });
    if (batch.length >= (o.batchSize ?? 512)) flush();
  }
  flush();
  return report;
}
