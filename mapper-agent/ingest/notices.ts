/**
 * Tells each PI N days before their campaign's embargo ends (once per campaign and end date, kept
 * in the journal): by e-mail through the configured SMTP transport (nodemailer), or, when none is
 * configured, as a log line an operator can act on.
 */
import { createTransport } from 'nodemailer';
import type { Logger } from '../../core/log.js';
import type { CampaignFacts } from '../../core/embargo/policy.js';
import type { Journal } from './journal.js';

export interface NoticeOptions {
  campaigns: CampaignFacts[];
  piMail: (campaign: string) => Promise<string | undefined>;
  journal: Journal;
  days: number;
  smtpUrl: string;
  from: string;
  log: Logger;
  now?: Date;
}

export async function sendEmbargoNotices(o: NoticeOptions): Promise<string[]> {
  if (o.days <= 0) return [];
  const now = (o.now ?? new Date()).getTime();
  const transport = o.smtpUrl ? createTransport(o.smtpUrl) : undefined;
  const sent: string[] = [];
  for (const c of o.campaigns) {
    if (!c.embargoEnd) continue;
    const left = c.embargoEnd.getTime() - now;
    if (left <= 0 || left > o.days * 86400_000) continue;
    const end = c.embargoEnd.toISOString();
    if (o.journal.noticeSent(c.name, end)) continue;
    const to = await o.piMail(c.name);
    const subject = `Embargo of campaign ${c.name} ends on ${end.slice(0, 10)}`;
    const text = `The embargo on the data of campaign ${c.name} ends on ${end.slice(0, 10)} (UTC). From then on its files become world-readable.\n` +
      `If the embargo must be extended, ask the data centre's administrators to change the date before then.\n`;
    if (transport && to) {
      await transport.sendMail({ from: o.from, to, subject, text });
      o.log.info({ campaign: c.name, to, embargoEnd: end }, 'embargo notice sent');
    } else {
      o.log.warn({ campaign: c.name, to: to ?? '(PI has no e-mail)', embargoEnd: end, subject }, 'embargo notice (no SMTP transport configured: logged only)');
    }
    o.journal.recordNotice(c.name, end);
    sent.push(c.name);
  }
  return sent;
}
