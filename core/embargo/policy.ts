/**
 * The ownership and mode a file should have. While a campaign is under embargo its science data
 * belong to the PI and the campaign group, readable by the group, not by the world; public data
 * (quick-looks, previews, metadata, and everything once the embargo has ended) are world-readable.
 * Files that cannot be classified safely are quarantined: world access removed, owner and group
 * left as found, and reported. Data files get exactly the configured permission bits (setuid,
 * setgid and sticky cleared); directories keep every bit and only gain the traverse bits their
 * files' readers need (see traverseTarget).
 *
 * Time: `now` is undefined when the agent's clock could not be checked against the directory
 * server's. Then every dated embargo holds (fail closed): a wrong clock never opens data early.
 *
 * Release models (docs/ingest.md, "Release models"): a campaign releases all its science data at
 * its date (cgEmbargoEnd), or, with a proprietary period (cgProprietaryPeriod, `proprietaryDays`),
 * per file: a file opens `proprietaryDays` after its observation date (DATE-OBS, read strictly; see
 * core/fits/date.ts), or, when the header has no DATE-OBS at all, after the time the journal recorded
 * its ingest. A DATE-OBS present but unreadable, or neither date known, keeps the file closed. In a
 * rolling campaign the campaign date, when also set, is a floor: no file opens before it.
 */
import type { Classification } from './classify.js';
import type { Modes } from './rules.js';
import type { ObservationDate } from '../fits/date.js';
import { memoLast } from '../memo-last.js';

export interface CampaignFacts {
  name: string;
  /** uidNumber of the PI; undefined when the PI's account is missing */
  piUid?: number;
  gid: number;
  /** undefined = no embargo (for a rolling campaign: no floor) */
  embargoEnd?: Date;
  /** rolling release: days from a file's DATE-OBS (else its journaled ingest) until it is public */
  proprietaryDays?: number;
}

/** Facts of one file the rolling rule needs beyond the campaign's. */
export interface FileDates {
  /** DATE-OBS as read; undefined: the header has none */
  observed?: ObservationDate;
  /** when the journal recorded this file's ingest (asked only when needed); undefined: unknown */
  ingestedAt?: () => Date | undefined;
}

const DAY_MS = 86_400_000;

/**
 * The embargo of one science file of `c` at `now`: whether it holds, until when, and why. For a
 * campaign-date campaign this is isEmbargoed; for a rolling one, see the module comment.
 */
export function fileEmbargo(c: CampaignFacts, file: FileDates, now: Date | undefined): { embargoed: boolean; until?: Date; why: string } {
  if (c.proprietaryDays === undefined) {
    const embargoed = isEmbargoed(c, now);
    return { embargoed, ...(embargoed ? { until: c.embargoEnd! } : {}), why: embargoed ? embargoedUntil(c.embargoEnd!) : '' };
  }
  const period = `${c.proprietaryDays} days`;
  const obs = file.observed;
  let start: Date | undefined;
  let from: string;
  if (obs?.kind === 'invalid') return { embargoed: true, why: `rolling release (${period}): DATE-OBS ${JSON.stringify(obs.text)} in HDU ${obs.hdu} ${obs.reason}: kept closed` };
  if (obs) {
    start = obs.date;
    from = `DATE-OBS ${obs.text}`;
  } else {
    start = file.ingestedAt?.();
    if (!start) return { embargoed: true, why: `rolling release (${period}): no DATE-OBS and no journaled ingest time: kept closed` };
    from = `no DATE-OBS; ingested ${start.toISOString()}`;
  }
  let until = new Date(start.getTime() + c.proprietaryDays * DAY_MS);
  let floor = '';
  if (c.embargoEnd && c.embargoEnd.getTime() > until.getTime()) {
    until = c.embargoEnd;
    floor = `, not before the campaign date ${day(c.embargoEnd)}`;
  }
  const rule = `rolling release: ${from} + ${period}${floor}`;
  if (now === undefined) return { embargoed: true, until, why: `${rule}: clock not trusted, embargoed` };
  const embargoed = until.getTime() > now.getTime();
  return { embargoed, until, why: embargoed ? `${rule}: embargoed until ${day(until)}` : `${rule}: ended ${day(until)}` };
}

// A campaign's files one after another: one string, not one (and a toISOString) per file.
const embargoedUntil = memoLast((end: Date) => `embargoed until ${day(end)}`);
const joinReasons = memoLast((first: string, second: string) => `${first}; ${second}`);

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export interface Ownership {
  uid: number;
  gid: number;
  mode: number;
}

export type Decision =
  /** `until`: an embargoed science file's own end, when known (rolling release: DATE-OBS or ingest + period, at least the campaign date) */
  | { action: 'set'; target: Ownership; why: string; campaign?: string; embargoed: boolean; until?: Date }
  | { action: 'quarantine'; target: Ownership; why: string; campaign?: string }
  | { action: 'leave'; why: string };

export type { Modes } from './rules.js';

/**
 * The campaign date holds at `now`; with an untrusted clock (undefined) every dated embargo holds.
 * For a rolling campaign this is only its floor: whether a file is open is fileEmbargo's answer.
 */
export function isEmbargoed(c: CampaignFacts, now: Date | undefined): boolean {
  return c.embargoEnd !== undefined && (now === undefined || c.embargoEnd.getTime() > now.getTime());
}

/** A rolling campaign whose files may be open now (per file): its floor, if any, has passed. */
export function releasesPerFile(c: CampaignFacts, now: Date | undefined): boolean {
  return c.proprietaryDays !== undefined && now !== undefined && !isEmbargoed(c, now);
}

export function decide(
  classification: Classification,
  current: Ownership,
  resolve: (campaign: string) => CampaignFacts | undefined,
  modes: Modes,
  now: Date | undefined,
  file: FileDates = {},
): Decision {
  const quarantine = (why: string, campaign?: string): Decision => ({
    action: 'quarantine', why, ...(campaign ? { campaign } : {}),
    target: { uid: current.uid, gid: current.gid, mode: current.mode & 0o770 },
  });
  switch (classification.kind) {
    case 'not-fits':
      return { action: 'leave', why: classification.reason };
    case 'no-campaign':
      return modes.noCampaign === 'quarantine' ? quarantine(classification.reason) : { action: 'leave', why: classification.reason };
    case 'invalid-campaign':
      return quarantine(classification.reason);
    case 'public':
    case 'science': {
      if (!classification.campaign) {
        return { action: 'set', why: classification.reason, embargoed: false, target: { uid: current.uid, gid: current.gid, mode: modes.public } };
      }
      const c = resolve(classification.campaign);
      if (!c) return quarantine(`campaign ${classification.campaign} is not in the directory`, classification.campaign);
      if (c.piUid === undefined) return quarantine(`campaign ${c.name} has no PI account`, c.name);
      const e = classification.kind === 'science' ? fileEmbargo(c, { observed: classification.observed ?? file.observed, ingestedAt: file.ingestedAt }, now) : { embargoed: false, why: '' };
      const embargoed = e.embargoed;
      return {
        action: 'set', campaign: c.name, embargoed, ...(embargoed && e.until ? { until: e.until } : {}),
        why: e.why ? joinReasons(classification.reason, e.why) : classification.reason,
        target: { uid: c.piUid, gid: c.gid, mode: embargoed ? modes.embargoed : modes.public },
      };
    }
  }
}

/**
 * What a directory on the way from a data root to a file needs so that the file's readers reach it:
 * a public file needs group and world traverse; an embargoed file only group traverse, and only
 * when the directory belongs to the file's group (world traverse would let anyone reach the other
 * files there; another group's traverse would help nobody). Bits are only added, never removed,
 * and setgid/sticky are kept. Undefined: nothing to add (or nothing that may be added: `why` says).
 */
export function traverseTarget(dir: Ownership, file: Ownership): { target?: Ownership; why?: string } {
  const worldReadable = (file.mode & 0o004) !== 0;
  if (worldReadable) {
    const mode = dir.mode | 0o011;
    return mode === dir.mode ? {} : { target: { ...dir, mode } };
  }
  if ((file.mode & 0o040) === 0) return {};
  if (dir.gid !== file.gid) return (dir.mode & 0o001) !== 0 ? {} : { why: `its group ${dir.gid} is not the files' group ${file.gid}: members cannot reach them; give the directory the campaign group (setgid)` };
  const mode = dir.mode | 0o010;
  return mode === dir.mode ? {} : { target: { ...dir, mode } };
}

export function sameOwnership(a: Ownership, b: Ownership): boolean {
  return a.uid === b.uid && a.gid === b.gid && (a.mode & 0o7777) === (b.mode & 0o7777);
}

export function formatOwnership(o: Ownership): string {
  return `${o.uid}:${o.gid} ${(o.mode & 0o7777).toString(8).padStart(4, '0')}`;
}
