import { expect } from 'chai';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Directory } from '../../../core/directory/index.js';
import { DirectoryUnavailableError } from '../../../core/errors.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { createLogger } from '../../../core/log.js';
import { agentSectionSchema, type AgentSection } from '../../../mapper-agent/config.js';
import { ShrinkRefusedError } from '../../../mapper-agent/map/atomic-write.js';
import { MapDaemon, MapSyncRunner } from '../../../mapper-agent/map/runner.js';
import { syncMap } from '../../../mapper-agent/map/sync.js';
import { AgentMetrics } from '../../../mapper-agent/metrics.js';
import { readStatus } from '../../../mapper-agent/status.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { stopProcess } from '../../support/stop-process.js';

const IAM = 'https://iam.example.org/';

describe('mapper-agent sync against real slapd', function () {
  const fx = useManagedSlapd();
  let dir: Directory;
  let agent: AgentSection;
  const log = createLogger('test');
  const mapLines = () => readFileSync(agent.multimapPath, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));

  before(async () => {
    dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
    const state = mkdtempSync(join(tmpdir(), 'cg-agent-'));
    agent = agentSectionSchema.parse({
      stateDir: state, multimapPath: join(state, 'multi-mapfile'), gridMapfilePath: join(state, 'grid-mapfile'), jsonSnapshotPath: join(state, 'map.json'),
      oidcAliases: { [IAM]: 'iam' }, checkIntervalSeconds: 1, pageSize: 7,
    });
    const alice = await dir.people.create({ username: 'alice', displayName: 'Alice' });
    await dir.identities.bind('alice', { type: 'x509', subject: '/DC=org/DC=terena/DC=tcs/C=DE/O=Example/CN=Alice Smith', issuer: '/C=DE/CN=CA' });
    await dir.identities.bind('alice', { type: 'x509', subject: '/C=DE/O=Acme, Inc. "R&D"/OU=a/b/CN=J\\xC3\\xBCrgen O\'Brien/emailAddress=j@example.org' });
    await dir.identities.bind('alice', { type: 'oidc', issuer: IAM, subject: 'alice@home@x' });
    await dir.people.create({ username: 'pat', displayName: 'Pat' });
    await dir.identities.bind('pat', { type: 'x509', subject: '/C=DE/CN=Pat' });
    await dir.campaigns.create({ name: 'flare', pi: 'pat', embargoEnd: new Date('2030-01-01T00:00:00Z') });
    await dir.campaigns.addMember('flare', 'alice');
    const sam = await dir.people.create({ username: 'sam', displayName: 'Sam' });
    await dir.identities.bind(sam.username, { type: 'x509', subject: '/C=DE/CN=Sam' });
    await dir.people.suspend('sam');
    await dir.identities.bind('pat', { type: 'x509', subject: '/C=DE/CN=Pat revoked' });
    await dir.identities.setStatus({ type: 'x509', subject: '/C=DE/CN=Pat revoked' }, 'revoked');
    await dir.identities.bind('pat', { type: 'x509', subject: '/C=DE/CN=Pat expired', notAfter: new Date('2020-01-01T00:00:00Z') });
    for (let i = 0; i < 40; i++) await dir.identities.bind('pat', { type: 'x509', subject: `/C=DE/CN=Pat host ${String(i).padStart(2, '0')}` });
    void alice;
  });

  it('writes exact lines for tricky DNs and OIDC subjects; suspended and revoked are absent, an expired certificate\'s DN stays', async () => {
    const outcome = await syncMap(fx.agent, fx.slapd.baseDn, agent);
    const alice = await dir.people.require('alice');
    const flare = await dir.campaigns.require('flare');
    const lines = mapLines();
    expect(lines).to.include(`"dn:/DC=org/DC=terena/DC=tcs/C=DE/O=Example/CN=Alice Smith" username:alice uid:${alice.uidNumber} gid:${alice.gidNumber},true gid:${flare.gidNumber}`);
    expect(lines).to.include(`"dn:/C=DE/O=Acme, Inc. \\"R&D\\"/OU=a/b/CN=J\\\\xC3\\\\xBCrgen O'Brien/emailAddress=j@example.org" username:alice uid:${alice.uidNumber} gid:${alice.gidNumber},true gid:${flare.gidNumber}`);
    expect(lines).to.include(`"oidc:alice@home@x@iam" username:alice uid:${alice.uidNumber} gid:${alice.gidNumber},true gid:${flare.gidNumber}`);
    expect(lines.join('\n')).to.not.match(/Sam|Pat revoked/);
    expect(lines.some((l) => l.startsWith('"dn:/C=DE/CN=Pat expired" username:pat')), 'the subject stays mapped: dCache refuses the expired certificate itself').to.equal(true);
    expect(lines).to.have.length(3 + 2 + 40);
    expect(outcome.skipped).to.deep.include({ suspended: 1, revoked: 1 });
    expect(readFileSync(agent.gridMapfilePath, 'utf8')).to.include('"/C=DE/CN=Pat" pat\n');
    expect(JSON.parse(readFileSync(agent.jsonSnapshotPath, 'utf8'))).to.have.length(45);
  });

  it('leaves the file untouched (same inode and mtime) when the directory did not change', async () => {
    const before = statSync(agent.multimapPath);
    await sleep(20);
    const outcome = await syncMap(fx.agent, fx.slapd.baseDn, agent);
    expect(outcome.outputs.every((o) => !o.changed)).to.equal(true);
    const after = statSync(agent.multimapPath);
    expect([after.ino, after.mtimeMs]).to.deep.equal([before.ino, before.mtimeMs]);
  });

  it('dry run shows the diff and writes nothing', async () => {
    await dir.identities.bind('pat', { type: 'x509', subject: '/C=DE/CN=Pat new' });
    const before = readFileSync(agent.multimapPath, 'utf8');
    const outcome = await syncMap(fx.agent, fx.slapd.baseDn, agent, { dryRun: true });
    expect(outcome.outputs[0]!.diff).to.match(/^\+ "dn:\/C=DE\/CN=Pat new" username:pat/);
    expect(readFileSync(agent.multimapPath, 'utf8')).to.equal(before);
    await syncMap(fx.agent, fx.slapd.baseDn, agent);
  });

  it('keeps the old map when slapd stops answering in the middle of the read', async function () {
    this.timeout(20000);
    const before = readFileSync(agent.multimapPath, 'utf8');
    const slow = fx.slapd.connect('agent', { operationTimeoutMs: 1000 });
    try {
      const sync = syncMap(slow, fx.slapd.baseDn, agent).then(() => undefined, (e: unknown) => e);
      while (slow.inFlight === 0) await sleep(1);
      await stopProcess(fx.slapd.pid);
      const err = await sync;
      process.kill(fx.slapd.pid, 'SIGCONT');
      expect(err).to.be.instanceOf(DirectoryUnavailableError);
      expect(readFileSync(agent.multimapPath, 'utf8')).to.equal(before);
    } finally {
      process.kill(fx.slapd.pid, 'SIGCONT');
      await slow.close();
    }
  });

  it('refuses a map that drops more than the allowed fraction, and --force writes it', async () => {
    const pat = await dir.identities.listForPerson('pat');
    for (const i of pat.filter((x) => x.certSubject?.includes('host')).slice(0, 20)) {
      await dir.identities.unbind('pat', { type: 'x509', subject: i.certSubject! });
    }
    const before = readFileSync(agent.multimapPath, 'utf8');
    const err = await syncMap(fx.agent, fx.slapd.baseDn, agent).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ShrinkRefusedError);
    expect(readFileSync(agent.multimapPath, 'utf8')).to.equal(before);
    await syncMap(fx.agent, fx.slapd.baseDn, agent, { force: true });
    expect(mapLines()).to.have.length(46 - 20);
  });

  it('the daemon puts an approved membership into the map within 5 seconds, and serves metrics', async function () {
    this.timeout(20000);
    const metrics = new AgentMetrics();
    const runner = new MapSyncRunner(fx.agent, fx.slapd.baseDn, agent, log, metrics);
    await runner.run();
    const daemon = new MapDaemon(runner, fx.agent, fx.slapd.baseDn, agent, log, metrics);
    const server = await metrics.serve(0);
    daemon.start();
    try {
      await dir.campaigns.create({ name: 'corona', pi: 'pat' });
      const request_ = await dir.requests.create({ campaign: 'corona', requester: 'alice', justification: 'coronal loops' });
      const corona = await dir.campaigns.require('corona');
      const start = Date.now();
      await dir.requests.decide(request_.id, { decision: 'approved', decidedBy: 'pat' });
      while (!mapLines().some((l) => l.includes('username:alice') && l.includes(`gid:${corona.gidNumber}`))) {
        expect(Date.now() - start, 'change visible in the map').to.be.below(5000);
        await sleep(50);
      }
      const body = await new Promise<string>((resolve, reject) => {
        request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/metrics' }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(text));
        }).on('error', reject).end();
      });
      expect(body).to.match(/cg_map_lines \d+/).and.match(/cg_map_syncs_total\{result="written"\} [1-9]/);
      expect(readStatus(agent.stateDir)).to.include({ consecutiveFailures: 0 });
    } finally {
      await daemon.stop();
      server.close();
    }
  });
});

describe('mapper-agent sync: the shrink guard protects without blocking (real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let dir: Directory;
  let agent: AgentSection;
  const mapLines = () => readFileSync(agent.multimapPath, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));

  before(async () => {
    dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
    const state = mkdtempSync(join(tmpdir(), 'cg-guard-'));
    agent = agentSectionSchema.parse({ stateDir: state, multimapPath: join(state, 'multi-mapfile'), gridMapfilePath: join(state, 'grid-mapfile') });
  });

  it('a two-account site suspends one: the map drops it at once', async () => {
    for (const u of ['ann', 'ben']) {
      await dir.people.create({ username: u, displayName: u });
      await dir.identities.bind(u, { type: 'x509', subject: `/C=DE/CN=${u}` });
    }
    await syncMap(fx.agent, fx.slapd.baseDn, agent);
    expect(mapLines()).to.have.length(2);
    await dir.people.suspend('ben');
    await syncMap(fx.agent, fx.slapd.baseDn, agent);
    expect(mapLines()).to.deep.equal([mapLines().find((l) => l.includes('ann'))]);
    await dir.people.setStatus('ben', 'active');
    await syncMap(fx.agent, fx.slapd.baseDn, agent);
    expect(mapLines()).to.have.length(2);
  });

  it('suspending a third of a larger site passes; the same number of lines vanishing unexplained is refused, and a dry run shows why', async () => {
    for (let i = 0; i < 28; i++) {
      await dir.people.create({ username: `u${i}`, displayName: `U ${i}` });
      await dir.identities.bind(`u${i}`, { type: 'x509', subject: `/C=DE/CN=U ${i}` });
    }
    await syncMap(fx.agent, fx.slapd.baseDn, agent);
    expect(mapLines()).to.have.length(30);
    for (let i = 0; i < 10; i++) await dir.people.suspend(`u${i}`);
    await syncMap(fx.agent, fx.slapd.baseDn, agent);
    expect(mapLines(), 'explained by the directory: written').to.have.length(20);
    // Identities that simply vanish (deleted entries, as a truncated or partial directory would look).
    for (let i = 10; i < 16; i++) await dir.identities.unbind(`u${i}`, { type: 'x509', subject: `/C=DE/CN=U ${i}` });
    const before = readFileSync(agent.multimapPath, 'utf8');
    const err = await syncMap(fx.agent, fx.slapd.baseDn, agent).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ShrinkRefusedError).with.property('message').that.matches(/6 lines disappeared that the directory does not explain/);
    expect(readFileSync(agent.multimapPath, 'utf8')).to.equal(before);
    const dry = await syncMap(fx.agent, fx.slapd.baseDn, agent, { dryRun: true });
    expect(dry.outputs[0]!.refused).to.match(/6 lines disappeared/);
    expect(dry.outputs[0]!.diff).to.include('- "dn:/C=DE/CN=U 10"');
    await syncMap(fx.agent, fx.slapd.baseDn, agent, { force: true });
    expect(mapLines()).to.have.length(14);
  });

  it('the daemon logs a refusal once per change of state, not at every check, and exposes it as a metric', async () => {
    for (let i = 0; i < 25; i++) {
      await dir.people.create({ username: `v${i}`, displayName: `V ${i}` });
      await dir.identities.bind(`v${i}`, { type: 'x509', subject: `/C=DE/CN=V ${i}` });
    }
    await syncMap(fx.agent, fx.slapd.baseDn, agent);
    for (let i = 0; i < 6; i++) await dir.identities.unbind(`v${i}`, { type: 'x509', subject: `/C=DE/CN=V ${i}` });
    const errors: string[] = [];
    const base = createLogger('test');
    const log = { ...base, error: (_o: unknown, msg?: string) => void errors.push(String(msg)), debug: () => undefined, info: () => undefined, warn: () => undefined } as unknown as typeof base;
    const metrics = new AgentMetrics();
    const runner = new MapSyncRunner(fx.agent, fx.slapd.baseDn, agent, log, metrics);
    for (let i = 0; i < 3; i++) expect(await runner.run().catch((e: unknown) => e)).to.be.instanceOf(ShrinkRefusedError);
    expect(errors).to.deep.equal(['map sync failed; the previous map stays in place']);
    expect(await metrics.registry.getSingleMetricAsString('cg_map_shrink_refused')).to.match(/cg_map_shrink_refused 1/);
    await runner.run({ force: true });
    expect(await metrics.registry.getSingleMetricAsString('cg_map_shrink_refused')).to.match(/cg_map_shrink_refused 0/);
  });
});
