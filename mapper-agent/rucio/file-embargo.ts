/**
 * The embargo facts Rucio gets for one file (DID metadata), from the file itself: its observation
 * date (DATE-OBS, re-read through the descriptor the change was applied through, never by path) and
 * its own embargo end by the same rule that decided its mode (policy.fileEmbargo). For a
 * campaign-date campaign the end is the campaign's date; for a rolling one it is the file's
 * (DATE-OBS, else its journaled ingest, plus the period, not before the campaign date), and null
 * when it is unknown (the file is then kept closed: `public` says so).
 */
import { fileEmbargo, type CampaignFacts } from '../../core/embargo/policy.js';
import type { Classifier } from '../../core/embargo/classify.js';
import { BLOCK } from '../../core/fits/header.js';
import { readFitsFromFd } from '../../core/fits/detect.js';
import { readStart } from '../ingest/safe-file.js';
import type { AppliedChange } from '../ingest/engine.js';
import type { EmbargoMetadata } from './client.js';

export interface FileEmbargoSources {
  facts: (campaign: string) => CampaignFacts | undefined;
  classifier: Classifier;
  /** the journal's first applied ingest of this file (Journal.ingestedAt) */
  ingestedAt: (path: string, dev: number, ino: number, campaign: string) => Date | undefined;
}

/** A function giving each applied change of a campaign file its DID embargo metadata. */
export function fileEmbargoMetadata(o: FileEmbargoSources): (a: AppliedChange) => EmbargoMetadata {
  const block = Buffer.allocUnsafe(BLOCK);
  return (a) => {
    const c = a.change;
    const facts = o.facts(c.campaign!);
    const isPublic = (c.target.mode & 0o004) !== 0;
    const base: EmbargoMetadata = { embargoEnd: facts?.embargoEnd ?? null, public: isPublic, observed: null, proprietaryDays: facts?.proprietaryDays ?? null };
    let classification;
    try {
      const read = readFitsFromFd(a.fd, readStart(a.fd, block), c.path, { size: a.size });
      classification = o.classifier.classify(c.path, read.kind === 'fits' ? read.headers : undefined);
    } catch {
      // Unreadable now: publish what the campaign says; a rolling file's own end is then unknown.
      return facts?.proprietaryDays === undefined ? base : { ...base, embargoEnd: null };
    }
    if (classification.kind !== 'science' || classification.campaign !== c.campaign) return base; // quick-looks: the campaign's facts
    const observed = classification.observed?.kind === 'date' ? classification.observed.date : null;
    if (!facts || facts.proprietaryDays === undefined) return { ...base, observed };
    const e = fileEmbargo(facts, { ...(classification.observed ? { observed: classification.observed } : {}), ingestedAt: () => o.ingestedAt(c.path, c.dev, c.ino, c.campaign!) }, undefined);
    return { ...base, observed, embargoEnd: e.until ?? null };
  };
}
