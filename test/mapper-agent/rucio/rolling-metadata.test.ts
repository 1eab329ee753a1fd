/**
 * Issue 18 items 2 and 6: the DID metadata Rucio gets for a file of a rolling campaign carries that
 * file's own embargo end (DATE-OBS, else its journaled ingest, + the period, not before the campaign
 * date) and its observation date, at ingest and again on release and re-embargo; the embargo run's
 * next opening (for the PI's notice) comes from the same rule. Real slapd, real
 * files as root, the agent's commands, and the Rucio stub that checks the documented REST API.
 */
import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Directory } from '../../../core/directory/index.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { createLogger } from '../../../core/log.js';
import { agentConfigSchema, type AgentConfig } from '../../../mapper-agent/config.js';
import { embargoCommand, ingestCommand, journalPath } from '../../../mapper-agent/ingest/commands.js';
import { fitsFile, type Card } from '../../support/fits.js';
import { backdateIngest, journaledIngest } from '../../support/journal.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { startRucioStub, type RucioStub } from '../../support/rucio-stub.js';
import { startTestSmtp, type TestSmtp } from '../../support/smtp.js';

const DAY = 86_400_000;

describe('Rucio DID metadata of a rolling campaign: each file its own end and DATE-OBS (real slapd, real files, Rucio stub)', function () {
  const fx = useManagedSlapd();
  let cfg: AgentConfig;
  let root: string;
  let stub: RucioStub;
  let smtp: TestSmtp;
  const ctx = () => ({ cfg, ldap: fx.agent, log: createLogger('test') });
  const write = (campaign: string, name: string, cards: Card[]) => {
    const p = join(root, 'obs', name);
    writeFileSync(p, fitsFile([['CAMPAIGN', campaign], ...cards], 2000));
    chmodSync(p, 0o664);
    return p;
  };
  const meta = (campaign: string, name: string) => stub.meta.get(`${campaign}:obs/${name}`);
  const ingestedAt = (path: string) => journaledIngest(journalPath(cfg), path, 'rsky')!;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    stub = await startRucioStub();
    smtp = await startTestSmtp();
    const base = mkdtempSync(join(tmpdir(), 'cg-rucio-rolling-'));
    root = join(base, 'data');
    mkdirSync(join(root, 'obs'), { recursive: true });
    cfg = agentConfigSchema.parse({
      ldap: { url: fx.slapd.url, bindDn: fx.slapd.agent.dn, password: fx.slapd.agent.password, baseDn: fx.slapd.baseDn },
      agent: {
        stateDir: join(base, 'state'), ingest: { roots: [root], noticeDays: 40, smtpUrl: smtp.url },
        rucio: { enabled: true, url: stub.url, account: 'cg', username: 'cg-agent', password: 's3cret', rse: 'DCACHE_DISK', pfnPrefixes: { [root]: 'davs://dcache.example.org:2880/data' } },
      },
    });
    const dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
    await dir.people.create({ username: 'rosa', displayName: 'Rosa', mail: 'rosa@example.org' });
    // Rolling, 30 days, floor 2021-01-01 (passed); and a campaign-date campaign for comparison.
    await dir.campaigns.create({ name: 'rsky', pi: 'rosa', embargoEnd: new Date('2021-01-01T00:00:00Z') });
    await dir.campaigns.setProprietaryPeriod('rsky', 30);
    await dir.campaigns.create({ name: 'rdate', pi: 'rosa', embargoEnd: new Date('2031-06-30T23:59:59Z') });
  });
  after(async () => {
    await stub?.close();
    await smtp?.close();
  });

  it('sends each file its own embargo end and observation date at ingest, and again on release and re-embargo', async () => {
    const today = new Date(Date.now() + DAY).toISOString().slice(0, 10); // DATE-OBS tomorrow: ends after an undated file ingested now
    const files = {
      floor: write('rsky', 'floor.fits', [['DATE-OBS', '2020-03-01T10:00:00']]),
      mid: write('rsky', 'mid.fits', [['DATE-OBS', '2024-05-01']]),
      recent: write('rsky', 'recent.fits', [['DATE-OBS', today]]),
      undated: write('rsky', 'undated.fits', []),
      undated2: write('rsky', 'undated2.fits', []),
      bad: write('rsky', 'bad.fits', [['DATE-OBS', '01/03/20']]),
      dated: write('rdate', 'dated.fits', [['DATE-OBS', '2026-02-03T04:05:06.5']]),
    };
    await ingestCommand(ctx(), [join(root, 'obs')], { dryRun: false });
    expect(stub.violations).to.deep.equal([]);
    expect(meta('rsky', 'floor.fits'), 'DATE-OBS + 30 days is before the floor: the floor').to.deep.equal({
      campaign: 'rsky', embargo_end: '2021-01-01T00:00:00.000Z', public: true, date_obs: '2020-03-01T10:00:00.000Z', proprietary_days: 30,
    });
    expect(meta('rsky', 'mid.fits')).to.deep.include({ embargo_end: '2024-05-31T00:00:00.000Z', public: true, date_obs: '2024-05-01T00:00:00.000Z' });
    const recentEnd = new Date(Date.parse(`${today}T00:00:00Z`) + 30 * DAY).toISOString();
    expect(meta('rsky', 'recent.fits')).to.deep.include({ embargo_end: recentEnd, public: false, date_obs: `${today}T00:00:00.000Z` });
    const undatedEnd = new Date(ingestedAt(files.undated).getTime() + 30 * DAY).toISOString();
    expect(meta('rsky', 'undated.fits'), 'no DATE-OBS: journaled ingest + 30 days').to.deep.include({ embargo_end: undatedEnd, public: false, date_obs: null });
    expect(meta('rsky', 'bad.fits'), 'unreadable DATE-OBS: closed, end unknown').to.deep.include({ embargo_end: null, public: false, date_obs: null });
    expect(meta('rdate', 'dated.fits'), 'campaign-date model: the campaign date, and the file\'s DATE-OBS').to.deep.equal({
      campaign: 'rdate', embargo_end: '2031-06-30T23:59:59.000Z', public: false, date_obs: '2026-02-03T04:05:06.500Z', proprietary_days: null,
    });

    // Release: the undated file's ingest was 40 days ago, so its own end has passed.
    const longAgo = new Date(Date.now() - 40 * DAY);
    backdateIngest(journalPath(cfg), files.undated, longAgo);
    // Re-embargo: the recent file opened by hand is closed again by lifting.
    chmodSync(files.recent, 0o644);
    stub.meta.delete('rsky:obs/recent.fits');
    stub.meta.set('rsky:obs/recent.fits', { stale: true });
    const report = await embargoCommand(ctx(), { dryRun: false });
    expect([report.lifted, report.reclosed]).to.deep.equal([1, 1]);
    expect(stub.violations).to.deep.equal([]);
    expect(meta('rsky', 'undated.fits'), 'released').to.deep.include({ embargo_end: new Date(longAgo.getTime() + 30 * DAY).toISOString(), public: true, date_obs: null });
    // The notice's next opening, from the files the run saw closed: undated2 (its ingest time, looked up in the journal) + 30 days.
    const next = new Date(ingestedAt(files.undated2).getTime() + 30 * DAY);
    expect(report.nextOpening.get('rsky')?.toISOString()).to.equal(next.toISOString());
    // ... and the embargo command tells the PI (noticeDays 40); the floor (2021) is long past, so no "first files" notice.
    const mail = await smtp.waitFor((m) => m.to.includes('rosa@example.org') && /next files/.test(m.subject));
    expect(mail.subject).to.equal(`Campaign rsky: the next files open on ${next.toISOString().slice(0, 10)}`);
    expect(mail.text).to.include('Campaign rsky releases each file 30 days after its observation date').and.include('not before 2021-01-01');
    expect(smtp.received.map((m) => m.subject).sort()).to.deep.equal(['Campaign rsky: 1 released file is under embargo again', mail.subject].sort());
    expect(meta('rsky', 'recent.fits'), 're-embargoed').to.deep.include({ embargo_end: recentEnd, public: false, date_obs: `${today}T00:00:00.000Z`, proprietary_days: 30 });
  });
});
