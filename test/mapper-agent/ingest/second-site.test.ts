/**
 * A second site (issue 18 item 7): an agent at site B with its own data root, state and journal
 * reads a read-only syncrepl consumer of the provider that site A's agent reads. Decisions come
 * only from the file's header and the directory, so a replicated copy (arriving root:root 0644,
 * as a transfer leaves it) and a derived product carrying the campaign in another header layout
 * get the same owner, group and mode at B as the original at A; lifting at B, reading through the
 * consumer after replication, opens the same files A opens; with its consumer frozen, B changes
 * nothing; with a consumer that answers but lags, B opens late (never early) and, after a
 * re-embargo, keeps its files open for the lag (docs/replication.md, "A second site").
 */
import { ownershipOf } from '../../support/ownership.js';
import { expect } from 'chai';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../core/config.js';
import { Directory, readContextCsn } from '../../../core/directory/index.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { LdapConnection } from '../../../core/ldap/connection.js';
import type { ManagedSlapd } from '../../../core/ldap/managed-slapd.js';
import { createLogger } from '../../../core/log.js';
import { agentConfigSchema, agentSectionSchema, type AgentConfig } from '../../../mapper-agent/config.js';
import { MapDaemon, MapSyncRunner } from '../../../mapper-agent/map/runner.js';
import { AgentMetrics } from '../../../mapper-agent/metrics.js';
import { embargoCommand, ingestCommand } from '../../../mapper-agent/ingest/commands.js';
import { fitsFile, fzFile } from '../../support/fits.js';
import { useReplicatedSlapd } from '../../support/replication.js';
import { stopProcess } from '../../support/stop-process.js';
import { until } from '../../support/until.js';

const DEPLOY = new URL('../../../deploy/', import.meta.url).pathname;

interface Site {
  cfg: AgentConfig;
  ldap: LdapConnection;
  root: string;
  out: string[];
}

describe('a second site: agent on a consumer with its own data root applies the same ownership (real slapd, as root)', function () {
  this.timeout(60000);
  const topo = useReplicatedSlapd({ consumers: 1 });
  const log = createLogger('test');
  let dir: Directory;
  let portal: LdapConnection;
  let a: Site;
  let b: Site;
  let pi: number;
  let skyGid: number;
  let openGid: number;
  const conns: LdapConnection[] = [];

  const mode = ownershipOf;
  const site = (name: string, server: ManagedSlapd): Site => {
    const base = mkdtempSync(join(tmpdir(), `cg-site-${name}-`));
    const root = join(base, 'data');
    mkdirSync(root, { recursive: true });
    // Both sites run the shipped example's decision settings (deploy/agent-ingest.yaml at A,
    // deploy/agent-second-site.yaml at B), with this topology's server, paths, and no mail.
    const shipped = loadConfig(agentConfigSchema, { file: join(DEPLOY, name === 'a' ? 'agent-ingest.yaml' : 'agent-second-site.yaml'), env: {} });
    const cfg = agentConfigSchema.parse({
      ldap: { url: server.url, bindDn: server.agent.dn, password: server.agent.password, baseDn: server.baseDn },
      agent: {
        stateDir: join(base, 'state'),
        syncEnabled: shipped.agent.syncEnabled,
        ingest: { ...shipped.agent.ingest, roots: [root], publicAreas: [join(root, 'public')], smtpUrl: '', modes: { embargoed: '0640', public: '0644' } },
      },
    });
    expect(cfg.agent.ingest.modes).to.deep.equal(shipped.agent.ingest.modes);
    const ldap = new LdapConnection({ url: server.url, bindDn: server.agent.dn, password: server.agent.password, connectTimeoutMs: 1500, operationTimeoutMs: 3000 }); // short for the frozen-consumer test, not so short that a loaded machine fails the others
    conns.push(ldap);
    return { cfg, ldap, root, out: [] };
  };
  const ctx = (s: Site) => ({ cfg: s.cfg, ldap: s.ldap, log, out: (l: string) => s.out.push(l) });
  const put = (p: string, data: Buffer, m: number, uid = 0, gid = 0) => {
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, data);
    chownSync(p, uid, gid);
    chmodSync(p, m);
    return p;
  };
  /** A transfer leaves the copy as its service account and umask make it: root:root 0644 here. */
  const replicate = (from: string, to: string) => {
    mkdirSync(join(to, '..'), { recursive: true });
    copyFileSync(from, to);
    chownSync(to, 0, 0);
    chmodSync(to, 0o644);
    return to;
  };
  const inSync = async () => {
    const base = topo.get().provider.baseDn;
    const want = await readContextCsn(portal, base);
    await until('the consumer to reach the provider contextCSN', 15000, async () => (await readContextCsn(b.ldap, base)) === want);
  };

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    const t = topo.get();
    portal = t.provider.connect('portal');
    conns.push(portal);
    dir = new Directory({ ldap: portal, baseDn: t.provider.baseDn, ranges: rangesConfigSchema.parse({}) });
    pi = (await dir.people.create({ username: 'pat', displayName: 'Pat', mail: 'pat@example.org' })).uidNumber;
    skyGid = (await dir.campaigns.create({ name: 'sky', pi: 'pat', embargoEnd: new Date(Date.now() + 30 * 86400_000) })).gidNumber;
    openGid = (await dir.campaigns.create({ name: 'open', pi: 'pat', embargoEnd: new Date(Date.now() + 86400_000) })).gidNumber;
    await dir.campaigns.setEmbargoEnd('open', new Date(Date.now() - 60_000)); // ended
    a = site('a', t.provider);
    b = site('b', t.consumers[0]!);
    await inSync();
  });
  after(async () => {
    for (const c of conns) await c.close().catch(() => undefined);
  });

  // Site A: the raw products as the instrument writes them.
  const A = () => ({
    raw: join(a.root, 'raw', '2026', 'obs1.fits'),
    ql: join(a.root, 'raw', '2026', 'obs1_ql.png'),
    pub: join(a.root, 'raw', '2026', 'pub1.fits'),
  });
  // Site B: replicated copies in another layout, and products derived there.
  const B = () => ({
    raw: join(b.root, 'mirror', 'sky', 'obs1.fits'),
    ql: join(b.root, 'mirror', 'sky', 'obs1_ql.png'),
    pub: join(b.root, 'mirror', 'open', 'pub1.fits'),
    l2: join(b.root, 'derived', 'sky', 'obs1_l2.fits'),
    fz: join(b.root, 'derived', 'sky', 'obs1_l2.fits.fz'),
    qlfits: join(b.root, 'derived', 'sky', 'obs1_preview.fits'),
    pubL2: join(b.root, 'derived', 'open', 'pub1_l2.fits'),
  });

  it('a replicated copy (root:root 0644) gets at B exactly what the original got at A; derived products get PI/campaign group/embargoed mode', async () => {
    const fa = A();
    const fb = B();
    put(fa.raw, fitsFile([['CAMPAIGN', 'sky'], ['LEVEL', 'RAW']], 2000), 0o664);
    put(fa.ql, Buffer.from('\x89PNG quick-look'), 0o664);
    put(fa.pub, fitsFile([['CAMPAIGN', 'open']], 100), 0o600);
    const ra = await ingestCommand(ctx(a), [a.root], { dryRun: false });
    expect(ra.quarantined).to.equal(0);
    expect(mode(fa.raw)).to.equal(`${pi}:${skyGid} 640`);

    replicate(fa.raw, fb.raw);
    replicate(fa.ql, fb.ql);
    replicate(fa.pub, fb.pub);
    // Derived at B: a level-2 product with another header layout, the campaign only in an
    // extension HDU (tile-compressed), a preview FITS, and a public campaign's level-2 product.
    put(fb.l2, fitsFile([['ORIGIN', 'site-b pipeline'], ['LEVEL', '2'], ['OBJECT', 'M31'], ['CAMPAIGN', 'sky']], 500), 0o664);
    put(fb.fz, fzFile([['LEVEL', '2'], ['CAMPAIGN', 'sky']]), 0o666);
    put(fb.qlfits, fitsFile([['CAMPAIGN', 'sky'], ['LEVEL', 'QL']]), 0o600);
    put(fb.pubL2, fitsFile([['LEVEL', '2'], ['CAMPAIGN', 'open']], 100), 0o640);
    const rb = await ingestCommand(ctx(b), [b.root], { dryRun: false });
    expect(rb.quarantined, b.out.join('\n')).to.equal(0);

    // copies: the same as at A
    expect(mode(fb.raw), 'raw copy').to.equal(mode(fa.raw));
    expect(mode(fb.ql), 'quick-look sidecar copy').to.equal(mode(fa.ql));
    expect(mode(fb.pub), 'public campaign copy').to.equal(mode(fa.pub));
    // figures: embargoed science closed, sidecar public with the campaign's owner and group
    expect(mode(fb.raw)).to.equal(`${pi}:${skyGid} 640`);
    expect(mode(fb.ql)).to.equal(`${pi}:${skyGid} 644`);
    expect(mode(fa.pub)).to.equal(`${pi}:${openGid} 644`);
    // derived products: PI, campaign group, embargoed mode (quick-look public)
    expect(mode(fb.l2), 'level-2, other layout').to.equal(`${pi}:${skyGid} 640`);
    expect(mode(fb.fz), 'campaign in the extension HDU').to.equal(`${pi}:${skyGid} 640`);
    expect(mode(fb.qlfits), 'LEVEL = QL').to.equal(`${pi}:${skyGid} 644`);
    expect(mode(fb.pubL2), 'derived product of the public campaign').to.equal(`${pi}:${openGid} 644`);
    // B's own state: its journal lives in its own stateDir
    expect(statSync(join(b.cfg.agent.stateDir, 'ingest.sqlite')).isFile()).to.equal(true);
    expect(b.cfg.agent.stateDir).to.not.equal(a.cfg.agent.stateDir);
  });

  it('with its consumer frozen, site B decides nothing: new arrivals and lifting fail, no file changes or opens', async () => {
    const t = topo.get();
    const fb = B();
    const late = put(join(b.root, 'mirror', 'sky', 'obs2.fits'), fitsFile([['CAMPAIGN', 'sky']]), 0o640);
    const lateOpen = replicate(A().raw, join(b.root, 'mirror', 'sky', 'obs3.fits'));
    const before = [fb.raw, fb.l2, fb.fz, fb.ql, late, lateOpen].map(mode);
    // The embargo ends at the provider while B's consumer is frozen.
    await stopProcess(t.consumers[0]!.pid);
    try {
      await dir.campaigns.setEmbargoEnd('sky', new Date(Date.now() - 1000));
      const ing = await ingestCommand(ctx(b), [join(b.root, 'mirror')], { dryRun: false }).then(() => undefined, (e: unknown) => e);
      expect(ing, 'ingest without the directory').to.be.an('error');
      const lift = await embargoCommand(ctx(b), { dryRun: false }).then(() => undefined, (e: unknown) => e);
      expect(lift, 'lifting without the directory').to.be.an('error');
    } finally {
      process.kill(t.consumers[0]!.pid, 'SIGCONT');
    }
    expect([fb.raw, fb.l2, fb.fz, fb.ql, late, lateOpen].map(mode), 'nothing changed, nothing widened').to.deep.equal(before);
    expect(mode(late)).to.equal('0:0 640');
    // Put the embargo back for the next test (the consumer catches up when it runs again).
    await dir.campaigns.setEmbargoEnd('sky', new Date(Date.now() + 30 * 86400_000));
    await inSync();
    await ingestCommand(ctx(b), [join(b.root, 'mirror')], { dryRun: false });
    expect(mode(late)).to.equal(`${pi}:${skyGid} 640`);
    expect(mode(lateOpen)).to.equal(`${pi}:${skyGid} 640`);
  });

  it('an embargo ended at the provider: B lifts through its consumer after replication and opens exactly what A opens', async () => {
    const fa = A();
    const fb = B();
    await dir.campaigns.setEmbargoEnd('sky', new Date(Date.now() - 1000));
    const la = await embargoCommand(ctx(a), { dryRun: false });
    expect(la.campaigns).to.include('sky'); // 'open' is listed too on A's first run (nothing left to open there)
    expect(mode(fa.raw)).to.equal(`${pi}:${skyGid} 644`);
    await inSync();
    const lb = await embargoCommand(ctx(b), { dryRun: false });
    expect(lb.campaigns).to.include('sky');
    expect(mode(fb.raw), 'copy: as at A').to.equal(mode(fa.raw));
    for (const p of [fb.l2, fb.fz, fb.qlfits, join(b.root, 'mirror', 'sky', 'obs2.fits'), join(b.root, 'mirror', 'sky', 'obs3.fits')]) {
      expect(mode(p), p).to.equal(`${pi}:${skyGid} 644`);
    }
    expect(lb.lifted, 'raw copy, obs2, obs3, level-2, .fz').to.equal(5);
    expect(mode(fb.pub)).to.equal(`${pi}:${openGid} 644`);
    expect((await embargoCommand(ctx(b), { dryRun: false })).lifted, 'idempotent').to.equal(0);
  });

  it('a re-embargo at the provider: B closes through its consumer after replication, as A does; quick-looks stay public', async () => {
    const fa = A();
    const fb = B();
    await dir.campaigns.setEmbargoEnd('sky', new Date(Date.now() + 30 * 86400_000));
    await embargoCommand(ctx(a), { dryRun: false });
    expect(mode(fa.raw)).to.equal(`${pi}:${skyGid} 640`);
    await inSync();
    await embargoCommand(ctx(b), { dryRun: false });
    expect(mode(fb.raw)).to.equal(mode(fa.raw));
    for (const p of [fb.l2, fb.fz]) expect(mode(p), p).to.equal(`${pi}:${skyGid} 640`);
    expect(mode(fb.ql)).to.equal(mode(fa.ql));
    expect(mode(fb.qlfits)).to.equal(`${pi}:${skyGid} 644`);
  });
  /**
   * A consumer that answers but lags: stopped while the provider changes, then started again while
   * the provider is frozen, so it serves its old state until the provider runs again.
   */
  const lagging = async (change: () => Promise<void>, during: (providerCsn: string) => Promise<void>) => {
    const t = topo.get();
    await t.stopConsumer(0);
    await change();
    const providerCsn = await readContextCsn(portal, t.provider.baseDn);
    await stopProcess(t.provider.pid);
    try {
      const c = await t.startConsumer(0);
      const old = b.ldap;
      b.ldap = new LdapConnection({ url: c.url, bindDn: c.agent.dn, password: c.agent.password, connectTimeoutMs: 1500, operationTimeoutMs: 5000 });
      conns.push(b.ldap);
      await old.close().catch(() => undefined);
      expect(await readContextCsn(b.ldap, t.provider.baseDn), 'the consumer answers, behind the provider').to.not.equal(providerCsn);
      await during(providerCsn);
    } finally {
      process.kill(t.provider.pid, 'SIGCONT');
    }
    await inSync();
  };
  const skyAtB = () => {
    const fb = B();
    return [fb.raw, fb.l2, fb.fz, join(b.root, 'mirror', 'sky', 'obs2.fits'), join(b.root, 'mirror', 'sky', 'obs3.fits')];
  };

  it('a lagging consumer (answers, behind the provider): an ended embargo opens at B late, never early', async function () {
    this.timeout(90000);
    // state here: 'sky' embargoed, every file closed at both sites (previous test)
    await lagging(
      () => dir.campaigns.setEmbargoEnd('sky', new Date(Date.now() - 1000)),
      async () => {
        const r = await embargoCommand(ctx(b), { dryRun: false });
        expect(r.lifted, 'B decides on what its consumer holds: still embargoed').to.equal(0);
        for (const p of skyAtB()) expect(mode(p), p).to.equal(`${pi}:${skyGid} 640`);
      },
    );
    const r = await embargoCommand(ctx(b), { dryRun: false });
    expect(r.lifted, 'after the consumer caught up').to.equal(5);
    for (const p of skyAtB()) expect(mode(p), p).to.equal(`${pi}:${skyGid} 644`);
    await embargoCommand(ctx(a), { dryRun: false });
    expect(mode(A().raw)).to.equal(`${pi}:${skyGid} 644`);
  });

  it('a lagging consumer: a re-embargo reaches B late, and B keeps its files open for the lag (the documented window)', async function () {
    this.timeout(90000);
    await lagging(
      () => dir.campaigns.setEmbargoEnd('sky', new Date(Date.now() + 30 * 86400_000)),
      async (providerCsn) => {
        const r = await embargoCommand(ctx(b), { dryRun: false });
        expect(r.lifted).to.equal(0);
        for (const p of skyAtB()) expect(mode(p), `${p}: still open at B while its consumer lags`).to.equal(`${pi}:${skyGid} 644`);
        // The guard: site B's agent, ingest-only (syncEnabled false: `run` calls startStalenessOnly),
        // reports a staleness larger than one reading the provider would.
        const state = mkdtempSync(join(tmpdir(), 'cg-site-b-map-'));
        const section = agentSectionSchema.parse({ stateDir: state, multimapPath: join(state, 'multi-mapfile'), checkIntervalSeconds: 1 });
        const atB = new AgentMetrics();
        const base = topo.get().provider.baseDn;
        await new MapDaemon(new MapSyncRunner(b.ldap, base, section, log, atB), b.ldap, base, section, log, atB).observeStaleness();
        const atProvider = new AgentMetrics();
        atProvider.observeContextCsn(providerCsn);
        const now = Date.now();
        expect(atB.stalenessSeconds(now), 'site B\'s agent sees its consumer behind').to.be.above(atProvider.stalenessSeconds(now)!);
        expect(await atB.registry.metrics()).to.match(/cg_directory_staleness_seconds \d/);
      },
    );
    await embargoCommand(ctx(b), { dryRun: false });
    for (const p of skyAtB()) expect(mode(p), `${p}: closed once the consumer caught up`).to.equal(`${pi}:${skyGid} 640`);
    await embargoCommand(ctx(a), { dryRun: false });
    expect(mode(A().raw)).to.equal(mode(B().raw));
  });

});
