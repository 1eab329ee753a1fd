/** The agent's embargo notices go through the portal's mail path (core/mail) to a REAL SMTP server on loopback. */
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../core/log.js';
import { Journal } from '../../../mapper-agent/ingest/journal.js';
import { sendEmbargoNotices, sendReembargoNotices } from '../../../mapper-agent/ingest/notices.js';
import { startTestSmtp, type TestSmtp } from '../../support/smtp.js';

describe('mapper-agent embargo notices by e-mail (real SMTP server on loopback)', () => {
  let smtp: TestSmtp;
  let journal: Journal;
  const log = createLogger('test');
  before(async () => {
    smtp = await startTestSmtp();
    journal = new Journal(join(mkdtempSync(join(tmpdir(), 'cg-notices-')), 'journal.sqlite'), 'test');
  });
  after(async () => {
    journal.close();
    await smtp.close();
  });

  it('tells the PI once, N days before the end, saying why; re-embargo too', async () => {
    const now = new Date('2026-12-01T00:00:00Z');
    const o = { piMail: async (c: string) => (c === 'flare' ? 'pi@example.org' : undefined), journal, days: 14, smtpUrl: smtp.url, from: 'agent@campaign-guard.test', portalUrl: 'https://portal.example.org/', log, now,
      campaigns: [{ name: 'flare', gid: 30001, embargoEnd: new Date('2026-12-10T00:00:00Z') }, { name: 'later', gid: 30002, embargoEnd: new Date('2027-06-01T00:00:00Z') }] };
    expect(await sendEmbargoNotices(o)).to.deep.equal(['flare']);
    expect(await sendEmbargoNotices(o), 'once per campaign and date').to.deep.equal([]);
    const mail = await smtp.waitFor((m) => m.to.includes('pi@example.org'));
    expect(mail.from).to.equal('agent@campaign-guard.test');
    expect(mail.subject).to.equal('Embargo of campaign flare ends on 2026-12-10');
    expect(mail.text, 'points to the extension request on the campaign page').to.include('ask for a later end date on https://portal.example.org/campaigns/flare before then');
    expect(mail.text).to.include('world-readable').and.include('You received this mail because you are the principal investigator of campaign flare');
    await sendReembargoNotices(o, new Map([['flare', 3]]));
    const again = await smtp.waitFor((m) => /under embargo again/.test(m.subject));
    expect(again.to).to.deep.equal(['pi@example.org']);
    expect(again.text).to.include('3 files');
    expect(smtp.received).to.have.length(2);
  });
});
