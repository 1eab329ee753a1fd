/**
 * The ownership and mode a file should have. While a campaign is under embargo its science data
 * belong to the PI and the campaign group, readable by the group, not by the world; public data
 * (quick-looks, previews, metadata, and everything once the embargo has ended) are world-readable.
 * Files that cannot be classified safely are quarantined: world access removed, owner and group
 * left as found, and reported. Only the permission bits (0777) are managed: setuid, setgid and
 * sticky bits are always cleared on data files.
 */
import { z } from 'zod';
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
    embargoed: z.coerce.number().int().min(0).max(0o777).default(0o640),
    /** public data */
    public: z.coerce.number().int().min(0).max(0o777).default(0o644),
    /** what a FITS file without any campaign keyword gets: leave it alone (reported) or quarantine it */
    noCampaign: z.enum(['leave', 'quarantine']).default('leave'),
  })
  .refine((m) => (m.embargoed & 0o007) === 0, { message: 'the embargoed mode must not give the world any access', path: ['embargoed'] })
  .refine((m) => (m.public & 0o022) === 0, { message: 'the public mode must not let group or world write', path: ['public'] })
  .default({ embargoed: 0o640, public: 0o644, noCampaign: 'leave' });
export type Modes = z.infer<typeof modesSchema>;

export function isEmbargoed(c: CampaignFacts, now: Date): boolean {
  return c.embargoEnd !== undefined && c.embargoEnd.getTime() > now.getTime();
}

export function decide(
  classification: Classification,
  current: Ownership,
  resolve: (campaign: string) => CampaignFacts | undefined,
  modes: Modes,
  now: Date,
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

export function sameOwnership(a: Ownership, b: Ownership): boolean {
  return a.uid === b.uid && a.gid === b.gid && (a.mode & 0o7777) === (b.mode & 0o7777);
}

export function formatOwnership(o: Ownership): string {
  return `${o.uid}:${o.gid} ${(o.mode & 0o7777).toString(8).padStart(4, '0')}`;
}
