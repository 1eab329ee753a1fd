import { expect } from 'chai';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Directory } from '../../../core/directory/index.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { createLogger } from '../../../core/log.js';
import { agentConfigSchema, type AgentConfig } from '../../../mapper-agent/config.js';
import { embargoCommand, ingestCommand, journalPath, verifyCommand } from '../../../mapper-agent/ingest/commands.js';
import { fitsFile, type Card } from '../../support/fits.js';
import { backdateIngest } from '../../support/journal.js';
import { ownershipOf } from '../../support/ownership.js';
import { useManagedSlapd } from '../../support/slapd.js';

describe('mapper-agent rolling release: lifting per file on DATE-OBS + proprietary period (real slapd, real files, as root)', function () {
  const fx = useManagedSlapd();
  let cfg: AgentConfig;
  let dir: Directory;
  let root: string;
  const lines: string[] = [];
  const ctx = () => ({ cfg, ldap: fx.agent, log: createLogger('test'), out: (l: string) => lines.push(l) });
  const mode = ownershipOf;
  const write = (name: string, cards: Card[]) => {
    const p = join(root, 'obs', name);
    writeFileSync(p, fitsFile([['CAMPAIGN', 'sky'], ...cards], 2000));
    chmodSync(p, 0o664);
    return p;
  };
  let pi: number, gid: number;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    const base = mkdtempSync(join(tmpdir(), 'cg-rolling-'));
    root = join(base, 'data');
    mkdirSync(join(root, 'obs'), { recursive: true });
    cfg = agentConfigSchema.parse({
      ldap: { url: fx.slapd.url, bindDn: fx.slapd.agent.dn, password: fx.slapd.agent.password, baseDn: fx.slapd.baseDn },
      agent: { stateDir: join(base, 'state'), ingest: { roots: [root] } },
    });
    dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
    pi = (await dir.people.create({ username: 'robin', displayName: 'Robin', mail: 'robin@example.org' })).uidNumber;
    // A rolling campaign (30 days) whose floor has not passed yet: everything is closed at ingest.
    gid = (await dir.campaigns.create({ name: 'sky', pi: 'robin', embargoEnd: new Date(Date.now() + 3600_000) })).gidNumber;
    await dir.campaigns.setProprietaryPeriod('sky', 30);
  });

  it('stores and validates the period at the edge', async () => {
    expect((await dir.campaigns.require('sky')).proprietaryDays).to.equal(30);
    for (const bad of [0, -1, 1.5, 36501, Number.NaN]) {
      const err = await dir.campaigns.setProprietaryPeriod('sky', bad).then(() => undefined, (e: unknown) => e);
      expect(err, String(bad)).to.be.an('error');
    }
    expect((await dir.campaigns.require('sky')).proprietaryDays).to.equal(30);
  });

  it('lifts exactly the files whose date passed (dry run first), keeps the others closed, verify knows the rule', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const old = write('old.fits', [['DATE-OBS', '2020-03-01T10:00:00']]);
    const recent = write('recent.fits', [['DATE-OBS', today]]);
    const bad = write('bad.fits', [['DATE-OBS', '01/03/20']]);
    const ingestedLongAgo = write('undated-old.fits', []);
    await ingestCommand(ctx(), [join(root, 'obs')], { dryRun: false });
    for (const f of [old, recent, bad, ingestedLongAgo]) expect(mode(f), f).to.equal(`${pi}:${gid} 640`);
    // Placed by hand with the right owner and mode: never journaled, its ingest time is unknown.
    const unknown = join(root, 'obs', 'undated-unknown.fits');
    writeFileSync(unknown, fitsFile([['CAMPAIGN', 'sky']], 2000));
    chownSync(unknown, pi, gid);
    chmodSync(unknown, 0o640);
    // The journal's ingest of undated-old.fits happened 40 days ago.
    backdateIngest(journalPath(cfg), ingestedLongAgo, new Date(Date.now() - 40 * 86400_000));

    // Before the floor: nothing opens, whatever the file dates.
    expect((await embargoCommand(ctx(), { dryRun: false })).lifted).to.equal(0);
    await dir.campaigns.setEmbargoEnd('sky', new Date(Date.now() - 1000));

    lines.length = 0;
    const dry = await embargoCommand(ctx(), { dryRun: true });
    expect(dry.lifted).to.equal(2);
    expect(lines.filter((l) => l.startsWith('would open')).map((l) => l.split(' ')[2]!.replace(/:$/, '')).sort()).to.deep.equal([old, ingestedLongAgo].sort());
    for (const f of [old, recent, bad, ingestedLongAgo, unknown]) expect(mode(f), `dry run: ${f} unchanged`).to.equal(`${pi}:${gid} 640`);

    const done = await embargoCommand(ctx(), { dryRun: false });
    expect(done.lifted).to.equal(2);
    expect(mode(old)).to.equal(`${pi}:${gid} 644`);
    expect(mode(ingestedLongAgo)).to.equal(`${pi}:${gid} 644`);
    expect(mode(recent), 'DATE-OBS today + 30 days').to.equal(`${pi}:${gid} 640`);
    expect(mode(bad), 'unreadable DATE-OBS').to.equal(`${pi}:${gid} 640`);
    expect(mode(unknown), 'no DATE-OBS, ingest time unknown').to.equal(`${pi}:${gid} 640`);
    // For the PI's notice: the next file to open, of those the run saw closed, is recent.fits (bad and unknown have no date).
    expect(done.nextOpening.get('sky')?.toISOString()).to.equal(new Date(Date.parse(`${today}T00:00:00Z`) + 30 * 86400_000).toISOString());
    const why = done.problems.join('\n');
    expect(why).to.include(`${recent}: not lifted: policy keeps it closed`).and.include(`DATE-OBS ${today} + 30 days`);
    expect(why).to.include(`${bad}: not lifted`).and.include('DATE-OBS "01/03/20"');
    expect(why).to.include(`${unknown}: not lifted`).and.include('no DATE-OBS and no journaled ingest time');
    expect((await embargoCommand(ctx(), { dryRun: false })).lifted, 'idempotent').to.equal(0);

    // verify: a recent file opened by hand is drift by the rolling rule; the lifted ones are right.
    chmodSync(recent, 0o644);
    lines.length = 0;
    const drift = await verifyCommand(ctx(), root, { fix: false });
    expect(drift.changed).to.equal(1);
    expect(lines.join('\n')).to.include(`drift ${recent}: is ${pi}:${gid} 0644, policy ${pi}:${gid} 0640`).and.include('rolling release');
    await verifyCommand(ctx(), root, { fix: true });
    expect(mode(recent)).to.equal(`${pi}:${gid} 640`);
    expect(mode(old)).to.equal(`${pi}:${gid} 644`);

    // Lifting closes an open file whose own end has not passed (journaled as a re-embargo).
    chmodSync(recent, 0o644);
    const again = await embargoCommand(ctx(), { dryRun: false });
    expect([again.lifted, again.reclosed]).to.deep.equal([0, 1]);
    expect(mode(recent)).to.equal(`${pi}:${gid} 640`);
    expect(mode(old)).to.equal(`${pi}:${gid} 644`);
  });

  it('lifting is refused on a clock the directory server disagrees with, rolling dates included', async () => {
    const refused = await embargoCommand({ ...ctx(), localClock: () => new Date(Date.now() + 86400_000) }, { dryRun: false }).then(() => undefined, (e: unknown) => e);
    expect(refused).to.be.an('error');
    expect(mode(join(root, 'obs', 'recent.fits'))).to.equal(`${pi}:${gid} 640`);
    // Ingest on such a clock keeps even an old observation closed; with a sane clock it is public.
    const late = write('late.fits', [['DATE-OBS', '2019-07-01']]);
    await ingestCommand({ ...ctx(), localClock: () => new Date(Date.now() + 86400_000) }, [late], { dryRun: false });
    expect(mode(late)).to.equal(`${pi}:${gid} 640`);
    await ingestCommand(ctx(), [late], { dryRun: false });
    expect(mode(late)).to.equal(`${pi}:${gid} 644`);
  });
});
