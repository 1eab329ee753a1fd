/**
 * Tells each PI N days before their campaign's embargo ends (once per campaign and end date, kept
 * in the journal); for a rolling campaign, before its first files open (the campaign date, its
 * floor) and before the next ones open, as the embargo run saw them (sendRollingNotices): by e-mail through the configured SMTP transport, or, when none is configured,
 * as a log line an operator can act on. The mail path is the portal's (core/mail/mailer.ts).
 */
import type { Logger } from '../../core/log.js';
import { Mailer } from '../../core/mail/mailer.js';
import type { CampaignFacts } from '../../core/embargo/policy.js';
import type { Journal } from './journal.js';

export interface NoticeOptions {
  campaigns: CampaignFacts[];
  piMail: (campaign: string) => Promise<string | undefined>;
  journal: Journal;
  days: number;
  smtpUrl: string;
  from: string;
  /** the portal's public URL, for the link to the campaign page; empty = no link */
  portalUrl?: string;
  log: Logger;
  now?: Date;
}

/** One notice to a campaign's PI: mailed through the SMTP transport, or logged when there is none (or no address). */
async function tell(o: Pick<NoticeOptions, 'piMail' | 'smtpUrl' | 'from' | 'log'>, campaign: string, subject: string, text: string, fields: Record<string, unknown>): Promise<void> {
  const to = await o.piMail(campaign);
  if (o.smtpUrl && to) {
    const mailer = new Mailer({ smtpUrl: o.smtpUrl, from: o.from }, o.log);
    try {
      await mailer.send({ to, subject, text, why: `you are the principal investigator of campaign ${campaign}` });
    } finally {
      mailer.close();
    }
    o.log.info({ campaign, to, ...fields }, `notice sent: ${subject}`);
  } else {
    o.log.warn({ campaign, to: to ?? '(PI has no e-mail)', subject, ...fields }, 'notice (no SMTP transport configured: logged only)');
  }
}

/** Tell each PI whose released files were closed again (re-embargo), with how many and the warning that copies cannot be recalled. */
export async function sendReembargoNotices(o: Pick<NoticeOptions, 'piMail' | 'smtpUrl' | 'from' | 'log'>, closed: Map<string, number>): Promise<void> {
  for (const [campaign, files] of closed) {
    await tell(o, campaign, `Campaign ${campaign}: ${files} released ${files === 1 ? 'file is' : 'files are'} under embargo again`,
      `The embargo on campaign ${campaign} was set again, and ${files} ${files === 1 ? 'file' : 'files'} that had been world-readable ${files === 1 ? 'is' : 'are'} now closed to the world.\n` +
      'Copies made while the data were public cannot be recalled.\n', { files });
  }
}

/** Where a PI asks for a later end: the campaign's page in the portal (embargo extension request, decided by an admin). */
function extensionHint(campaign: string, portalUrl: string | undefined): string {
  const page = portalUrl ? `${portalUrl.replace(/\/+$/, '')}/campaigns/${encodeURIComponent(campaign)}` : 'the campaign\'s page in the registration portal';
  return `If the embargo must be extended, ask for a later end date on ${page} before then; an administrator decides, and the current date holds until they do.\n`;
}

export async function sendEmbargoNotices(o: NoticeOptions): Promise<string[]> {
  if (o.days <= 0) return [];
  const now = (o.now ?? new Date()).getTime();
  const sent: string[] = [];
  for (const c of o.campaigns) {
    if (!c.embargoEnd) continue;
    const left = c.embargoEnd.getTime() - now;
    if (left <= 0 || left > o.days * 86400_000) continue;
    const end = c.embargoEnd.toISOString();
    if (o.journal.noticeSent(c.name, end)) continue;
    if (c.proprietaryDays !== undefined) {
      // Rolling release: the campaign date is only the floor; files open by their own dates.
      const observedBefore = day(new Date(c.embargoEnd.getTime() - c.proprietaryDays * DAY_MS));
      await tell(o, c.name, `Campaign ${c.name}: the first files open on ${day(c.embargoEnd)}`,
        `${rollingRule(c, c.proprietaryDays)}\nOn ${day(c.embargoEnd)} those observed before ${observedBefore} become world-readable; the others follow as their own dates pass.\n` +
        extensionHint(c.name, o.portalUrl), { embargoEnd: end, proprietaryDays: c.proprietaryDays });
    } else {
      await tell(o, c.name, `Embargo of campaign ${c.name} ends on ${end.slice(0, 10)}`,
        `The embargo on the data of campaign ${c.name} ends on ${end.slice(0, 10)} (UTC). From then on its files become world-readable.\n` +
        extensionHint(c.name, o.portalUrl), { embargoEnd: end });
    }
    o.journal.recordNotice(c.name, end);
    sent.push(c.name);
  }
  return sent;
}

const DAY_MS = 86_400_000;

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function rollingRule(c: CampaignFacts, days: number): string {
  return `Campaign ${c.name} releases each file ${days} days after its observation date (DATE-OBS, else the time the agent ingested it)` +
    `${c.embargoEnd ? `, not before ${day(c.embargoEnd)}` : ''} (UTC).`;
}

/**
 * Rolling campaigns past their floor: tell the PI when the next of their files open, as the last
 * embargo run saw them (LiftReport.nextOpening: the earliest own end still ahead among the files it
 * saw closed), when that is within `days`. At most one such notice per campaign in each window of
 * `days` days (kept in the journal), so that files opening day after day do not mail the PI daily.
 */
export async function sendRollingNotices(o: NoticeOptions, nextOpening: Map<string, Date>): Promise<string[]> {
  if (o.days <= 0) return [];
  const now = (o.now ?? new Date()).getTime();
  const sent: string[] = [];
  for (const c of o.campaigns) {
    const next = nextOpening.get(c.name);
    if (c.proprietaryDays === undefined || !next) continue;
    const left = next.getTime() - now;
    if (left <= 0 || left > o.days * DAY_MS) continue;
    const key = `rolling:${o.days}:${Math.floor(next.getTime() / (o.days * DAY_MS))}`;
    if (o.journal.noticeSent(c.name, key)) continue;
    await tell(o, c.name, `Campaign ${c.name}: the next files open on ${day(next)}`,
      `${rollingRule(c, c.proprietaryDays)}\nBy the files the agent saw on ${day(new Date(now))}, the next ones become world-readable on ${day(next)}.\n`, { nextOpening: next.toISOString(), proprietaryDays: c.proprietaryDays });
    o.journal.recordNotice(c.name, key);
    sent.push(c.name);
  }
  return sent;
}
