/**
 * The admins' daily digest of quarantined files: every file the agent closed to the world because it
 * could not classify it (unreadable header, unknown campaign, PI missing, ...) since the last digest,
 * with the reason, read from the journal. Sent by mail when agent.ingest.adminMail and smtpUrl are
 * configured, else logged; nothing is sent when nothing was quarantined. docs/fits.md lists what to
 * do with each reason.
 */
import { createTransport } from 'nodemailer';
import type { Logger } from '../../core/log.js';
import type { Journal } from './journal.js';

export interface DigestOptions {
  journal: Journal;
  to: string[];
  smtpUrl: string;
  from: string;
  log: Logger;
  host: string;
}

export async function sendQuarantineDigest(o: DigestOptions): Promise<number> {
  const { rows, total, lastId } = o.journal.quarantinesSinceDigest();
  if (total === 0) return 0;
  const subject = `campaign-guard on ${o.host}: ${total} ${total === 1 ? 'file' : 'files'} quarantined`;
  const text = `The mapper agent on ${o.host} removed world access from ${total} ${total === 1 ? 'file' : 'files'} it could not classify.\n` +
    'Fix the cause (see docs/fits.md, "Quarantine reasons"), then run `mapper-agent ingest PATH` on the file again.\n\n' +
    rows.map((r) => `${r.path}\n    ${r.reason}`).join('\n') + (total > rows.length ? `\n... and ${total - rows.length} more (mapper-agent's journal has them all)\n` : '\n');
  if (o.smtpUrl && o.to.length) {
    await createTransport(o.smtpUrl).sendMail({ from: o.from, to: o.to, subject, text });
    o.log.info({ to: o.to, quarantined: total }, 'quarantine digest sent');
  } else {
    o.log.warn({ quarantined: total, first: rows.slice(0, 20).map((r) => `${r.path}: ${r.reason}`) }, 'quarantine digest (no admin mail or SMTP configured: logged only)');
  }
  o.journal.digestSent(lastId);
  return total;
}
