/** The agent's embargo notices go through the portal's mail path (core/mail) to a REAL SMTP server on loopback. */
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../core/log.js';
import { Journal } from '../../../mapper-agent/ingest/journal.js';
import { sendEmbargoNotices, sendReembargoNotices, sendRollingNotices } from '../../../mapper-agent/ingest/notices.js';
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

  it('a rolling campaign: the notice gives the rule, not the campaign date as the day data open; the next files as the embargo run saw them', async () => {
    const before = smtp.received.length;
    const now = new Date('2026-12-01T00:00:00Z');
    const sky = { name: 'sky', gid: 30003, embargoEnd: new Date('2026-12-10T23:59:59Z'), proprietaryDays: 30 };
    const o = { piMail: async () => 'sky-pi@example.org', journal, days: 14, smtpUrl: smtp.url, from: 'agent@campaign-guard.test', portalUrl: 'https://portal.example.org', log, now, campaigns: [sky] };
    // Before the floor: the first files open on the campaign date, those observed 30 days before it.
    expect(await sendEmbargoNotices(o)).to.deep.equal(['sky']);
    const first = await smtp.waitFor((m) => m.to.includes('sky-pi@example.org'));
    expect(first.subject).to.equal('Campaign sky: the first files open on 2026-12-10');
    expect(first.text).to.include('Campaign sky releases each file 30 days after its observation date (DATE-OBS, else the time the agent ingested it), not before 2026-12-10 (UTC).')
      .and.include('On 2026-12-10 those observed before 2026-11-10 become world-readable; the others follow as their own dates pass.');
    expect(first.text).not.to.include('The embargo on the data of campaign sky ends');

    // After the floor: the next opening the embargo run computed from the files it saw.
    const later = { ...o, now: new Date('2027-01-05T00:00:00Z') };
    expect(await sendRollingNotices(later, new Map([['sky', new Date('2027-01-31T00:00:00Z')]])), 'more than 14 days ahead').to.deep.equal([]);
    expect(await sendRollingNotices(later, new Map([['sky', new Date('2027-01-09T10:00:00Z')]]))).to.deep.equal(['sky']);
    const next = await smtp.waitFor((m) => /next files/.test(m.subject));
    expect(next.subject).to.equal('Campaign sky: the next files open on 2027-01-09');
    expect(next.text).to.include('releases each file 30 days after its observation date').and.include('By the files the agent saw on 2027-01-05, the next ones become world-readable on 2027-01-09.');
    // Files opening day after day: at most one such notice per 14-day window.
    expect(await sendRollingNotices({ ...o, now: new Date('2027-01-09T12:00:00Z') }, new Map([['sky', new Date('2027-01-10T00:00:00Z')]]))).to.deep.equal([]);
    expect(await sendRollingNotices({ ...o, now: new Date('2027-01-06T00:00:00Z') }, new Map([['other', new Date('2027-01-10T00:00:00Z')]])), 'not a campaign it was given').to.deep.equal([]);
    expect(smtp.received.length - before).to.equal(2);
  });
});
