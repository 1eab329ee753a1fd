/**
 * Membership ends (cgMemberUntil on the campaign): members are warned 14 and 3 days ahead (the
 * member and the PI, once per threshold, end date and recipient), and on the date the portal takes
 * them out of the campaign's POSIX group, audited as membership.expire by the system.
 *
 * The mapper agent already leaves a membership past its end out of the map (it reads cgMemberUntil);
 * this job takes the memberUid away for everything else that reads the group (LDAP/NSS). Crash-safe
 * order per membership: the approved request (so doctor cannot re-add the member), the memberUid,
 * the audit record, then the cgMemberUntil value; a value left without memberUid is harmless and
 * dropped next run.
 */
import type { Campaign } from '../../core/directory/index.js';
import type { Logger } from '../../core/log.js';
import { audit, type Actor, type ServiceContext } from './context.js';
import type { Notifier } from './notifications.js';

/** Days before a membership ends at which the member and the PI are told. */
export const MEMBERSHIP_WARNING_DAYS = [14, 3] as const;

/** How often the portal looks for ended memberships: "on the date" within this much. */
export const MEMBERSHIP_EXPIRY_CHECK_MS = 3600_000;

/** The expiry job acts as nobody's account; parenthesised like '(registering)' so no username can be it. */
export const SYSTEM_ACTOR: Actor = { username: '(system)', isAdmin: true, identity: 'membership expiry job', ip: '' };

const DAY = 86_400_000;

export interface MembershipExpiryRun {
  /** "campaign member" of memberships ended in this run */
  expired: string[];
  /** "campaign member threshold recipient" of warnings delivered in this run */
  warned: string[];
  /** "campaign member" of end values dropped without a memberUid (left by a crash, a hand edit, the PI) */
  cleaned: string[];
}

type Notices = Pick<Notifier, 'toPerson' | 'wasSent' | 'recordSent'>;

export async function expireMemberships(ctx: ServiceContext, notifier: Notices | undefined, log: Logger, now = new Date()): Promise<MembershipExpiryRun> {
  const run: MembershipExpiryRun = { expired: [], warned: [], cleaned: [] };
  for (const campaign of await ctx.directory.campaigns.list()) {
    for (const [member, end] of Object.entries(campaign.memberUntil)) {
      try {
        if (end.getTime() <= now.getTime()) await expireOne(ctx, notifier, campaign, member, end, run);
        else if (campaign.members.includes(member)) await warn(notifier, campaign, member, end, now, run);
      } catch (err) {
        // One membership's failure must not keep the others in: log it and go on; the next run retries.
        log.error({ err, campaign: campaign.name, member }, 'membership expiry failed');
      }
    }
  }
  return run;
}

async function expireOne(ctx: ServiceContext, notifier: Notices | undefined, campaign: Campaign, member: string, end: Date, run: MembershipExpiryRun): Promise<void> {
  // The PI stays a member of their own campaign (the portal refuses an end for them): only the value goes.
  if (campaign.members.includes(member) && member !== campaign.pi) {
    await ctx.directory.requests.dropApprovedOf(campaign.name, member); // first: doctor must not read the end as an approval cut short
    await ctx.directory.campaigns.dropMemberUid(campaign.name, member);
    audit(ctx, SYSTEM_ACTOR, 'membership.expire', campaign.name, { member, until: end.toISOString() });
    run.expired.push(`${campaign.name} ${member}`);
    await notifier?.toPerson(member, {
      subject: `Your membership of campaign ${campaign.name} has ended`,
      text: `Your membership of campaign ${campaign.name} ended on ${day(end)}, the end date set by its PI. ` +
        'Its embargoed data are no longer readable with your storage account once the storage nodes have synced. ' +
        `If you still need access, ask to join again from the campaign's page (the PI, ${campaign.pi}, decides).\n`,
      why: `you were a member of campaign ${campaign.name} until ${day(end)}`,
      path: `/campaigns/${encodeURIComponent(campaign.name)}`,
    });
  } else {
    run.cleaned.push(`${campaign.name} ${member}`);
  }
  await ctx.directory.campaigns.setMemberUntil(campaign.name, member, null);
}

async function warn(notifier: Notices | undefined, campaign: Campaign, member: string, end: Date, now: Date, run: MembershipExpiryRun): Promise<void> {
  if (!notifier) return;
  const days = Math.floor((end.getTime() - now.getTime()) / DAY);
  const threshold = [...MEMBERSHIP_WARNING_DAYS].reverse().find((t) => days <= t);
  if (threshold === undefined) return;
  const when = days === 0 ? 'today' : days === 1 ? 'in 1 day' : `in ${days} days`;
  const recipients = [
    {
      to: member,
      text: `Your membership of campaign ${campaign.name} ends ${when} (${day(end)}, UTC). From then on its embargoed data are no longer readable with your storage account. ` +
        `If you need longer, ask the PI (${campaign.pi}) to move the end date.\n`,
      why: `you are a member of campaign ${campaign.name} until ${day(end)}`,
      path: '/account',
    },
    {
      to: campaign.pi,
      text: `The membership of ${member} in your campaign ${campaign.name} ends ${when} (${day(end)}, UTC); the portal then removes ${member} from the campaign's POSIX group. ` +
        "To keep them longer, change or clear the date on the campaign's members list.\n",
      why: `you are the principal investigator of campaign ${campaign.name}`,
      path: `/campaigns/${encodeURIComponent(campaign.name)}`,
    },
  ];
  for (const r of recipients) {
    if (!r.to) continue;
    // Per recipient, so a failed delivery to one is retried without mailing the other twice.
    const key = `${campaign.name} ${member} ${end.toISOString()} ${threshold} ${r.to}`;
    if (notifier.wasSent('membership-expiry', key)) continue;
    const delivery = await notifier.toPerson(r.to, {
      subject: r.to === member ? `Your membership of ${campaign.name} ends ${when}` : `Campaign ${campaign.name}: ${member}'s membership ends ${when}`,
      text: r.text,
      why: r.why,
      path: r.path,
    });
    if (delivery === 'failed') continue;
    notifier.recordSent('membership-expiry', key);
    if (delivery === 'sent' || delivery === 'logged') run.warned.push(`${campaign.name} ${member} ${threshold} ${r.to}`);
  }
}

const day = (d: Date) => d.toISOString().slice(0, 10);
