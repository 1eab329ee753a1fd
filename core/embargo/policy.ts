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
 */
import { z } from 'zod';
import { fileModeSchema } from '../file-mode.js';
import type { Classification } from './classify.js';

export interface CampaignFacts {
  name: string;
  /** uidNumber of the PI; undefined when the PI's account is missing */
  piUid?: number;
  gid: number;
  /** undefined = no embargo */
  embargoEnd?: Date;
}

export interface Ownership {
  uid: number;
  gid: number;
  mode: number;
}

export type Decision =
  | { action: 'set'; target: Ownership; why: string; campaign?: string; embargoed: boolean }
  | { action: 'quarantine'; target: Ownership; why: string; campaign?: string }
  | { action: 'leave'; why: string };

export const modesSchema = z
  .object({
    /** science data under embargo: owner rw, group r, world nothing */
    embargoed: fileModeSchema.refine((m) => m <= 0o777, 'no special bits on data files').default(0o640),
    /** public data */
    public: fileModeSchema.refine((m) => m <= 0o777, 'no special bits on data files').default(0o644),
    /** what a FITS file without any campaign keyword gets: leave it alone (reported) or quarantine it */
    noCampaign: z.enum(['leave', 'quarantine']).default('leave'),
  })
  .refine((m) => (m.embargoed & 0o007) === 0, { message: 'the embargoed mode must not give the world any access', path: ['embargoed'] })
  .refine((m) => (m.public & 0o022) === 0, { message: 'the public mode must not let group or world write', path: ['public'] })
  .default({ embargoed: 0o640, public: 0o644, noCampaign: 'leave' });
export type Modes = z.infer<typeof modesSchema>;

/** Under embargo at `now`; with an untrusted clock (undefined) every dated embargo holds. */
export function isEmbargoed(c: CampaignFacts, now: Date | undefined): boolean {
  return c.embargoEnd !== undefined && (now === undefined || c.embargoEnd.getTime() > now.getTime());
}

export function decide(
  classification: Classification,
  current: Ownership,
  resolve: (campaign: string) => CampaignFacts | undefined,
  modes: Modes,
  now: Date | undefined,
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
      const embargoed = classification.kind === 'science' && isEmbargoed(c, now);
      return {
        action: 'set', campaign: c.name, embargoed,
        why: embargoed ? `${classification.reason}; embargoed until ${c.embargoEnd!.toISOString().slice(0, 10)}` : classification.reason,
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
