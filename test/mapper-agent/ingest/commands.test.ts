import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Directory } from '../../../core/directory/index.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { LdapConnection } from '../../../core/ldap/connection.js';
import { createLogger } from '../../../core/log.js';
import { agentConfigSchema, type AgentConfig } from '../../../mapper-agent/config.js';
import { embargoCommand, ingestCommand, journalPath, reconcileCommand, reportCommand, verifyCommand, watchCommand } from '../../../mapper-agent/ingest/commands.js';
import { Journal } from '../../../mapper-agent/ingest/journal.js';
import { poolWorkersAlive, startPool } from '../../../mapper-agent/ingest/pool.js';
import { ConfigError } from '../../../core/errors.js';
import { rejection } from '../../support/rejection.js';
import { ClockRefusedError } from '../../../mapper-agent/clock.js';
import { exitCodeFor } from '../../../mapper-agent/cli.js';
import { EXIT } from '../../../mapper-agent/exit-codes.js';
import { fitsFile } from '../../support/fits.js';
import { ownershipOf } from '../../support/ownership.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { stopProcess } from '../../support/stop-process.js';

describe('mapper-agent ingest/verify/embargo commands (real slapd, as root)', function () {
  const fx = useManagedSlapd();
  let cfg: AgentConfig;
  let dir: Directory;
  let root: string;
  const lines: string[] = [];
  const ctx = () => ({ cfg, ldap: fx.agent, log: createLogger('test'), out: (l: string) => lines.push(l) });
  const mode = ownershipOf;
  const write = (name: string, campaign: string) => {
    const p = join(root, 'obs', name);
    writeFileSync(p, fitsFile([['CAMPAIGN', campaign]], 2000));
    chmodSync(p, 0o664);
    return p;
  };
  let pat: { uid: number }, ended: { gid: number }, running: { gid: number };

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    const base = mkdtempSync(join(tmpdir(), 'cg-cmd-'));
    root = join(base, 'data');
    mkdirSync(join(root, 'obs'), { recursive: true });
    cfg = agentConfigSchema.parse({
      ldap: { url: fx.slapd.url, bindDn: fx.slapd.agent.dn, password: fx.slapd.agent.password, baseDn: fx.slapd.baseDn },
      agent: { stateDir: join(base, 'state'), ingest: { roots: [root], noticeDays: 30 } },
    });
    dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
    const p = await dir.people.create({ username: 'pat', displayName: 'Pat', mail: 'pat@example.org' });
    pat = { uid: p.uidNumber };
    const soon = new Date(Date.now() + 2 * 86400_000);
    ended = { gid: (await dir.campaigns.create({ name: 'ending', pi: 'pat', embargoEnd: soon })).gidNumber };
    running = { gid: (await dir.campaigns.create({ name: 'running', pi: 'pat', embargoEnd: new Date('2031-01-01T00:00:00Z') })).gidNumber };
  });

  it('ingest applies PI/group/mode from LDAP; verify finds drift and --fix repairs it', async () => {
    const a = write('a.fits', 'ending');
    const b = write('b.fits', 'running');
    await ingestCommand(ctx(), [join(root, 'obs')], { dryRun: false });
    expect(mode(a)).to.equal(`${pat.uid}:${ended.gid} 640`);
    expect(mode(b)).to.equal(`${pat.uid}:${running.gid} 640`);
    chmodSync(b, 0o644); // someone opened it by hand
    lines.length = 0;
    const drift = await verifyCommand(ctx(), root, { fix: false });
    expect(drift.changed).to.equal(1);
    expect(lines.join('\n')).to.include(`drift ${b}: is ${pat.uid}:${running.gid} 0644, policy ${pat.uid}:${running.gid} 0640`);
    expect(mode(b)).to.equal(`${pat.uid}:${running.gid} 644`);
    await verifyCommand(ctx(), root, { fix: true });
    expect(mode(b)).to.equal(`${pat.uid}:${running.gid} 640`);
  });

  it('lifts the embargo on its date (dry run first), leaves running embargoes closed, notifies the PI once', async () => {
    const a = join(root, 'obs', 'a.fits');
    const b = join(root, 'obs', 'b.fits');
    lines.length = 0;
    const before = await embargoCommand(ctx(), { dryRun: false });
    expect(before.lifted).to.equal(0);
    const noticed = (await dir.campaigns.require('ending')).embargoEnd!.toISOString();
    // The date passes (by the directory server's clock, which is the one lifting uses).
    await dir.campaigns.setEmbargoEnd('ending', new Date(Date.now() - 1000));
    const dry = await embargoCommand(ctx(), { dryRun: true });
    expect(dry.lifted).to.equal(1);
    expect(mode(a)).to.equal(`${pat.uid}:${ended.gid} 640`);
    const done = await embargoCommand(ctx(), { dryRun: false });
    expect(done.campaigns).to.deep.equal(['ending']);
    expect(mode(a)).to.equal(`${pat.uid}:${ended.gid} 644`);
    expect(mode(b)).to.equal(`${pat.uid}:${running.gid} 640`);
    expect((await embargoCommand(ctx(), { dryRun: false })).lifted, 'resumable/idempotent').to.equal(0);
    const j = new Journal(journalPath(cfg), 'check');
    expect(j.noticeSent('ending', noticed), 'PI notified before the end').to.equal(true);
    expect(j.noticeSent('running', (await dir.campaigns.require('running')).embargoEnd!.toISOString()), 'not yet due').to.equal(false);
    j.close();
  });

  it('respects an embargo extended before it ended', async () => {
    const c = write('c.fits', 'running');
    await ingestCommand(ctx(), [c], { dryRun: false });
    await dir.campaigns.setEmbargoEnd('running', new Date(Date.now() + 3600_000));
    const r = await embargoCommand(ctx(), { dryRun: false });
    expect(r.campaigns).to.not.include('running');
    expect(mode(c)).to.equal(`${pat.uid}:${running.gid} 640`);
  });

  it('refuses to lift on a clock a day ahead of the directory server; ingest then holds every dated embargo', async () => {
    await dir.campaigns.create({ name: 'skewed', pi: 'pat', embargoEnd: new Date(Date.now() + 3 * 3600_000) });
    const f = write('skewed.fits', 'skewed');
    const ahead = () => new Date(Date.now() + 86400_000);
    const refused = await embargoCommand({ ...ctx(), localClock: ahead }, { dryRun: false }).then(() => undefined, (err: unknown) => err);
    expect(refused).to.be.instanceOf(ClockRefusedError);
    expect((refused as Error).message).to.match(/clock is 86\d{3}(\.\d)? s ahead of the directory server's \(allowed 300 s\)/);
    expect(exitCodeFor(refused)).to.equal(EXIT.REFUSED);
    await ingestCommand({ ...ctx(), localClock: ahead }, [f], { dryRun: false });
    expect(mode(f), 'embargo ends in 3 h: closed').to.match(/ 640$/);
    // Even an embargo that really ended stays closed at ingest while the clock cannot be trusted.
    await dir.campaigns.setEmbargoEnd('skewed', new Date(Date.now() - 60_000));
    const g = write('skewed2.fits', 'skewed');
    await ingestCommand({ ...ctx(), localClock: ahead }, [g], { dryRun: false });
    expect(mode(g)).to.match(/ 640$/);
    await ingestCommand(ctx(), [g], { dryRun: false });
    expect(mode(g), 'with a sane clock: public').to.match(/ 644$/);
  });

  it('reconciliation catches every file no event announced, even after the directory was away; incremental passes skip unchanged files', async function () {
    this.timeout(60000);
    const base = mkdtempSync(join(tmpdir(), 'cg-rec-'));
    const recRoot = join(base, 'data');
    mkdirSync(join(recRoot, 'door'), { recursive: true });
    const recCfg = agentConfigSchema.parse({
      ldap: { url: fx.slapd.url, bindDn: fx.slapd.agent.dn, password: fx.slapd.agent.password, baseDn: fx.slapd.baseDn },
      agent: { stateDir: join(base, 'state'), ingest: { roots: [recRoot], workers: 1, reconcileMarginSeconds: 0 } },
    });
    // Short timeouts only for the pass meant to fail while slapd is stopped; the passes after it must succeed, on the usual connection.
    const ldap = new LdapConnection({ url: fx.slapd.url, bindDn: fx.slapd.agent.dn, password: fx.slapd.agent.password, operationTimeoutMs: 400, connectTimeoutMs: 400 });
    const rctx = { cfg: recCfg, ldap: fx.agent, log: createLogger('test'), out: (l: string) => lines.push(l) };
    // Files written through a door: no event reaches this host.
    const a = join(recRoot, 'door', 'a.fits');
    writeFileSync(a, fitsFile([['CAMPAIGN', 'running']]));
    chmodSync(a, 0o644);
    await stopProcess(fx.slapd.pid);
    try {
      const failed = await reconcileCommand({ ...rctx, ldap }, { full: false }).then(() => undefined, (err: unknown) => err);
      expect(failed, 'the directory is away: the pass fails and does not count').to.be.an('error');
    } finally {
      process.kill(fx.slapd.pid, 'SIGCONT');
      await ldap.close();
    }
    expect(mode(a), 'nothing decided without the directory').to.equal('0:0 644');
    const first = await reconcileCommand(rctx, { full: false });
    expect(mode(a)).to.equal(`${pat.uid}:${running.gid} 640`);
    expect(first.changed).to.equal(1);
    await new Promise((r) => setTimeout(r, 20));
    const b = join(recRoot, 'door', 'b.fits');
    writeFileSync(b, fitsFile([['CAMPAIGN', 'running']]));
    chmodSync(b, 0o666);
    const second = await reconcileCommand(rctx, { full: false });
    expect(mode(b)).to.equal(`${pat.uid}:${running.gid} 640`);
    expect(second.files, 'the incremental pass looks at b (new) and a (its ctime moved when the agent changed it), nothing else').to.be.at.most(2);
    const third = await reconcileCommand(rctx, { full: false });
    expect(third).to.include({ files: 1, changed: 0 }); // b once more: its ctime moved when the second pass changed it
    expect(lines.filter((l) => /: 1 file, 0 changed/.test(l)), 'the summary says "1 file", not "1 files"').to.have.length.at.least(1);
    const fourth = await reconcileCommand(rctx, { full: false });
    expect(fourth.files, 'nothing changed since the last pass').to.equal(0);
    const full = await reconcileCommand(rctx, { full: true });
    expect(full).to.include({ files: 2, unchanged: 2 });
  });

  it('the compliance report counts what is on disk per campaign, and the journal\'s releases', async function () {
    this.timeout(60000);
    const base = mkdtempSync(join(tmpdir(), 'cg-report-'));
    const repRoot = join(base, 'data');
    mkdirSync(join(repRoot, 'r'), { recursive: true });
    const repCfg = agentConfigSchema.parse({
      ldap: { url: fx.slapd.url, bindDn: fx.slapd.agent.dn, password: fx.slapd.agent.password, baseDn: fx.slapd.baseDn },
      agent: { stateDir: join(base, 'state'), ingest: { roots: [repRoot], workers: 1 } },
    });
    const out: string[] = [];
    const rctx = { cfg: repCfg, ldap: fx.agent, log: createLogger('test'), out: (l: string) => out.push(l) };
    const put = (name: string, cards: [string, string][]) => {
      const p = join(repRoot, 'r', name);
      writeFileSync(p, fitsFile(cards));
      chmodSync(p, 0o664);
      return p;
    };
    const s1 = put('s1.fits', [['CAMPAIGN', 'running']]);
    put('s2.fits', [['CAMPAIGN', 'running']]);
    put('q1.fits', [['CAMPAIGN', 'running'], ['LEVEL', 'QL']]);
    put('x.fits', [['CAMPAIGN', 'nosuch']]);
    await ingestCommand(rctx, [repRoot], { dryRun: false });
    chmodSync(s1, 0o644); // drift: someone opened it by hand
    const r = await reportCommand(rctx, { format: 'json' });
    const running = r.campaigns.find((c) => c.campaign === 'running')!;
    expect(running).to.deep.include({ files: 3, closed: 2, public: 1, drift: 1 });
    expect(r.quarantined).to.equal(1);
    // The same figures from the disk itself: modes of the files whose header says "running".
    const onDisk = ['s1.fits', 's2.fits', 'q1.fits'].map((n) => statSync(join(repRoot, 'r', n)).mode & 0o004);
    expect(onDisk.filter((m) => m === 0).length, 'closed on disk now').to.equal(running.closed - running.drift);
    await reportCommand(rctx, { format: 'csv' });
    expect(out.join('\n')).to.match(/^campaign,files,closed,public,drift,/m).and.match(/^running,3,2,1,1,0,,,0,,$/m);
    // A release the journal holds (as the embargo command records it) shows with its run.
    const j = new Journal(journalPath(repCfg), 'embargo');
    const st = statSync(s1);
    j.finish(j.plan([{ path: s1, dev: st.dev, ino: st.ino, campaign: 'running', kind: 'embargo-lift', before: { uid: 0, gid: 0, mode: 0o640 }, target: { uid: 0, gid: 0, mode: 0o644 }, reason: 'test' }]).map((id) => ({ id, state: 'applied' as const })));
    j.close();
    const after = await reportCommand(rctx, { format: 'json' });
    expect(after.campaigns.find((c) => c.campaign === 'running')!.released).to.deep.include({ files: 1, runs: [j.run] });
  });

  it('files arriving after the embargo ended are public at ingest', async () => {
    await dir.campaigns.setEmbargoEnd('ending', new Date(Date.now() - 1000));
    const late = write('late.fits', 'ending');
    await ingestCommand(ctx(), [late], { dryRun: false });
    expect(mode(late)).to.equal(`${pat.uid}:${ended.gid} 644`);
  });

  it('with two workers the pool starts with the command and never outlives it: used, or stopped when the command fails first or the tree is small', async () => {
    const two: AgentConfig = { ...cfg, agent: { ...cfg.agent, ingest: { ...cfg.agent.ingest, workers: 2 } } };
    const pooled = () => ({ ...ctx(), cfg: two });
    const f = write('pooled.fits', 'running');
    const r = await ingestCommand(pooled(), [join(root, 'obs')], { dryRun: false });
    expect(r.refused).to.equal(0);
    expect(mode(f)).to.equal(`${pat.uid}:${running.gid} 640`);
    expect(poolWorkersAlive(), 'used: the workers ended with the queue').to.equal(0);
    // Lifting on a tree smaller than POOL_MIN_DIRECTORIES: started at once, stopped unused.
    const lifted = await embargoCommand(pooled(), { dryRun: false });
    expect(lifted.refused).to.equal(0);
    expect(poolWorkersAlive(), 'small tree').to.equal(0);
    // The clock check refuses the run before the workers get their job.
    chmodSync(f, 0o644);
    const refused = await rejection(embargoCommand({ ...pooled(), localClock: () => new Date(Date.now() + 86400_000) }, { dryRun: false }));
    expect(refused).to.be.instanceOf(ClockRefusedError);
    expect(mode(f), 'nothing closed on a refused clock').to.equal(`${pat.uid}:${running.gid} 644`);
    expect(poolWorkersAlive(), 'clock refused').to.equal(0);
    // An ingest that fails after the campaigns are read (no data roots configured): nothing touched, no worker left.
    const noRoots: AgentConfig = { ...two, agent: { ...two.agent, ingest: { ...two.agent.ingest, roots: [] } } };
    expect(await rejection(ingestCommand({ ...ctx(), cfg: noRoots }, [f], { dryRun: false }))).to.be.instanceOf(ConfigError);
    expect(mode(f)).to.equal(`${pat.uid}:${running.gid} 644`);
    expect(poolWorkersAlive(), 'ingest failed before the pool').to.equal(0);
    chmodSync(f, 0o640);
  });

  it('a pool its caller started even earlier (the CLI) is handed over: used when it fits, terminated when the command does not pool or wants another size', async () => {
    const two: AgentConfig = { ...cfg, agent: { ...cfg.agent, ingest: { ...cfg.agent.ingest, workers: 2 } } };
    const f = write('early.fits', 'running');
    const early = startPool(2);
    const r = await ingestCommand({ ...ctx(), cfg: two, pool: early }, [f], { dryRun: false });
    expect(r).to.include({ changed: 1, refused: 0 });
    expect(mode(f)).to.equal(`${pat.uid}:${running.gid} 640`);
    expect(poolWorkersAlive(), 'used').to.equal(0);
    expect(early.fresh).to.equal(false);
    const again = await ingestCommand({ ...ctx(), cfg: two, pool: early }, [f], { dryRun: false });
    expect(again, 'a pool already used is not taken again: the command starts its own').to.include({ unchanged: 1, refused: 0 });
    chmodSync(f, 0o664);
    lines.length = 0;
    await ingestCommand({ ...ctx(), cfg: two, pool: startPool(2) }, [f], { dryRun: true });
    expect(lines.join('\n')).to.include(`would change ${f}`);
    expect(mode(f), 'dry run').to.equal(`${pat.uid}:${running.gid} 664`);
    expect(poolWorkersAlive(), 'a dry run does not pool').to.equal(0);
    const other = await ingestCommand({ ...ctx(), cfg: two, pool: startPool(3) }, [f], { dryRun: false });
    expect(other).to.include({ changed: 1, refused: 0 });
    expect(mode(f)).to.equal(`${pat.uid}:${running.gid} 640`);
    expect(poolWorkersAlive(), 'three given, two wanted: replaced').to.equal(0);
    await embargoCommand({ ...ctx(), cfg: two, pool: startPool(2) }, { dryRun: false });
    expect(poolWorkersAlive(), 'lifting on a small tree').to.equal(0);
  });
});

describe('mapper-agent watch (real slapd, as root)', function () {
  const fx = useManagedSlapd();
  const mode = ownershipOf;
  it('ingests what is there, then each new file once it has settled, including a file written slowly', async function () {
    if (process.getuid?.() !== 0) this.skip();
    this.timeout(30000);
    const base = mkdtempSync(join(tmpdir(), 'cg-watch-'));
    const root = join(base, 'data');
    mkdirSync(join(root, 'incoming'), { recursive: true });
    const cfg = agentConfigSchema.parse({
      ldap: { url: fx.slapd.url, bindDn: fx.slapd.agent.dn, password: fx.slapd.agent.password, baseDn: fx.slapd.baseDn },
      agent: { stateDir: join(base, 'state'), ingest: { roots: [root], settleMs: 300 } },
    });
    const dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
    const pi = await dir.people.create({ username: 'wpi', displayName: 'Watch PI' });
    const gid = (await dir.campaigns.create({ name: 'watched', pi: 'wpi', embargoEnd: new Date('2031-01-01T00:00:00Z') })).gidNumber;
    const early = join(root, 'incoming', 'early.fits');
    writeFileSync(early, fitsFile([['CAMPAIGN', 'watched']]));
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const out: string[] = [];
    const running = watchCommand({ cfg, ldap: fx.agent, log: createLogger('test'), out: (l: string) => out.push(l) }, join(root, 'incoming'), stopped);
    const until = async (p: string, want: string) => {
      for (const start = Date.now(); Date.now() - start < 10000; await new Promise((r) => setTimeout(r, 50))) if (mode(p) === want) return;
      throw new Error(`${p} is ${mode(p)}, not ${want}`);
    };
    await until(early, `${pi.uidNumber}:${gid} 640`);
    // An instrument writes a file in two steps; the agent waits until it has settled and then applies policy.
    const late = join(root, 'incoming', 'late.fits');
    const full = fitsFile([['CAMPAIGN', 'watched']], 4000);
    writeFileSync(late, full.subarray(0, 200));
    chmodSync(late, 0o644);
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(late, full);
    await until(late, `${pi.uidNumber}:${gid} 640`);
    // A new directory with a file in it, both announced: the file is ingested once, not once per event.
    mkdirSync(join(root, 'incoming', 'night'));
    const inDir = join(root, 'incoming', 'night', 'n.fits');
    writeFileSync(inDir, fitsFile([['CAMPAIGN', 'watched']]));
    await until(inDir, `${pi.uidNumber}:${gid} 640`);
    // The agent's own chown/chmod raise events too; they are not ingested again.
    await new Promise((r) => setTimeout(r, 1200));
    stop();
    await running;
    const counted = out.map((l) => /^ingest: (\d+) files?,/.exec(l)?.[1]).filter(Boolean).map(Number);
    expect(counted.reduce((a, b) => a + b, 0), `each new file counted once after the initial ingest: ${out.join(' | ')}`).to.equal(2);
  });

  it('never stops on a bad file or an unreachable directory: the round is queued again until it succeeds', async function () {
    if (process.getuid?.() !== 0) this.skip();
    this.timeout(60000);
    const base = mkdtempSync(join(tmpdir(), 'cg-watch2-'));
    const root = join(base, 'data');
    mkdirSync(join(root, 'incoming'), { recursive: true });
    const cfg = agentConfigSchema.parse({
      ldap: { url: fx.slapd.url, bindDn: fx.slapd.agent.dn, password: fx.slapd.agent.password, baseDn: fx.slapd.baseDn },
      agent: { stateDir: join(base, 'state'), ingest: { roots: [root], settleMs: 200, workers: 1 } },
    });
    const dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
    const pi = await dir.people.create({ username: 'wpi2', displayName: 'Watch PI 2' });
    const gid = (await dir.campaigns.create({ name: 'watched2', pi: 'wpi2', embargoEnd: new Date('2031-01-01T00:00:00Z') })).gidNumber;
    const good = join(root, 'incoming', 'good.fits');
    writeFileSync(good, fitsFile([['CAMPAIGN', 'watched2']]));
    chmodSync(good, 0o664);
    const bad = join(root, 'incoming', 'bad.fits');
    writeFileSync(bad, 'SIMPLE  = this is not a FITS header at all');
    chmodSync(bad, 0o666);
    // The agent's own connection with short timeouts (the same connection serves the rounds after the directory is
    // back: not so short that one slow answer on a loaded machine fails them), and the directory frozen when the watch starts.
    const ldap = new LdapConnection({ url: fx.slapd.url, bindDn: fx.slapd.agent.dn, password: fx.slapd.agent.password, operationTimeoutMs: 1500, connectTimeoutMs: 1500 });
    const errors: string[] = [];
    const log = createLogger('test');
    const spy = { ...log, error: (o: unknown, msg?: string) => void errors.push(msg ?? String(o)) } as unknown as typeof log;
    await stopProcess(fx.slapd.pid);
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    let running: Promise<void> | undefined;
    try {
      running = watchCommand({ cfg, ldap, log: spy }, join(root, 'incoming'), stopped);
      for (const start = Date.now(); !errors.some((e) => /queued again/.test(e)) && Date.now() - start < 10000; ) await new Promise((r) => setTimeout(r, 100));
      expect(errors.join('\n')).to.match(/ingest round failed; its files are queued again/);
      expect(mode(good), 'nothing decided while the directory is away').to.equal('0:0 664');
    } finally {
      process.kill(fx.slapd.pid, 'SIGCONT');
    }
    for (const start = Date.now(); mode(good) !== `${pi.uidNumber}:${gid} 640` && Date.now() - start < 30000; ) await new Promise((r) => setTimeout(r, 100));
    expect(mode(good)).to.equal(`${pi.uidNumber}:${gid} 640`);
    expect(mode(bad), 'the bad file quarantined, the watch still running').to.equal('0:0 660');
    const late = join(root, 'incoming', 'late.fits');
    writeFileSync(late, fitsFile([['CAMPAIGN', 'watched2']]));
    chmodSync(late, 0o664);
    for (const start = Date.now(); mode(late) !== `${pi.uidNumber}:${gid} 640` && Date.now() - start < 10000; ) await new Promise((r) => setTimeout(r, 100));
    expect(mode(late)).to.equal(`${pi.uidNumber}:${gid} 640`);
    stop();
    await running;
    await ldap.close();
  });
});
