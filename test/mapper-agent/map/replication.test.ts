/**
 * Replication with real slapd processes: a provider and two read-only consumers (syncrepl
 * refreshAndPersist). The agent reads a consumer: a change at the provider reaches its map within
 * 5 s; contextCSN polling works on the consumer; a consumer cut off from its provider keeps
 * serving and the agent's staleness metric grows; a consumer stopped and restarted catches up and
 * the map converges without tripping the shrink guard.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Directory, readContextCsn } from '../../../core/directory/index.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import type { LdapConnection } from '../../../core/ldap/connection.js';
import { createLogger } from '../../../core/log.js';
import { SYNCPROV_CONF, syncreplConf } from '../../../core/ldap/managed-slapd.js';
import { agentSectionSchema, type AgentSection } from '../../../mapper-agent/config.js';
import { ShrinkRefusedError } from '../../../mapper-agent/map/atomic-write.js';
import { MapDaemon, MapSyncRunner } from '../../../mapper-agent/map/runner.js';
import { AgentMetrics } from '../../../mapper-agent/metrics.js';
import { useReplicatedSlapd } from '../../support/replication.js';
import { until } from '../../support/until.js';

const ranges = rangesConfigSchema.parse({});

describe('replication: provider + 2 read-only consumers, agent on a consumer (real slapd)', function () {
  this.timeout(60000);
  const topo = useReplicatedSlapd({ consumers: 2 });
  const log = createLogger('test');
  let dir: Directory;
  let portal: LdapConnection;
  const agents: LdapConnection[] = [];
  const agentSection = (): AgentSection => {
    const state = mkdtempSync(join(tmpdir(), 'cg-agent-repl-'));
    return agentSectionSchema.parse({ stateDir: state, multimapPath: join(state, 'multi-mapfile'), checkIntervalSeconds: 1 });
  };
  const mapLines = (a: AgentSection) => {
    try {
      return readFileSync(a.multimapPath, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    } catch {
      return [];
    }
  };

  before(async () => {
    portal = topo.get().provider.connect('portal');
    dir = new Directory({ ldap: portal, baseDn: topo.get().provider.baseDn, ranges });
    for (let i = 0; i < 20; i++) {
      await dir.people.create({ username: `base${i}` });
      await dir.identities.bind(`base${i}`, { type: 'x509', subject: `/DC=org/CN=Base ${i}` });
    }
  });
  after(async () => {
    await portal.close();
    for (const a of agents) await a.close();
  });
  const agentOn = (i: number) => {
    const c = topo.get().consumers[i]!.connect('agent', { connectTimeoutMs: 1000, operationTimeoutMs: 3000 });
    agents.push(c);
    return c;
  };

  it('consumers receive the tree with the service accounts, and refuse writes', async () => {
    // the consumer runs the shipped syncrepl text (ldap-schema/replication/consumer.conf) with its own values
    const conf = readFileSync(join(topo.get().consumers[0]!.dir, 'slapd.conf'), 'utf8');
    const p = topo.get().provider;
    expect(conf).to.include(syncreplConf(p.baseDn, [{ rid: 1, url: p.url, bindDn: p.replicator.dn, password: p.replicator.password }])).and.include(SYNCPROV_CONF);
    const c1 = agentOn(0);
    const base = topo.get().provider.baseDn;
    const csn = await readContextCsn(portal, base);
    await until('consumer 1 to reach the provider contextCSN', 10000, async () => (await readContextCsn(c1, base)) === csn);
    const onConsumer = topo.get().consumers[0]!.connect('portal');
    try {
      const err = await onConsumer.add(`uid=intruder,ou=people,${base}`, { objectClass: ['top', 'account'], uid: 'intruder' }).catch((e: unknown) => e);
      expect(err, 'a write to a consumer').to.be.instanceOf(Error);
      expect(await topo.get().provider.connect('admin').read(`uid=intruder,ou=people,${base}`)).to.equal(undefined);
    } finally {
      await onConsumer.close();
    }
  });

  it('a change at the provider reaches the map of an agent reading a consumer within 5 s (contextCSN polling on the consumer)', async () => {
    const ldap = agentOn(0);
    const section = agentSection();
    const metrics = new AgentMetrics();
    const runner = new MapSyncRunner(ldap, topo.get().provider.baseDn, section, log, metrics);
    const daemon = new MapDaemon(runner, ldap, topo.get().provider.baseDn, section, log, metrics);
    await runner.run();
    daemon.start();
    try {
      const delays: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        await dir.people.create({ username: `late${i}` });
        await dir.identities.bind(`late${i}`, { type: 'x509', subject: `/DC=org/CN=Late ${i}` });
        await until(`late${i} in the map`, 5000, async () => mapLines(section).some((l) => l.includes(`username:late${i} `)));
        delays.push(Date.now() - t0);
      }
      for (const d of delays) expect(d).to.be.below(5000);
      expect(metrics.stalenessSeconds()).to.be.a('number').and.below(10);
    } finally {
      await daemon.stop();
    }
  });

  it('a consumer stopped and restarted catches up; the map converges without tripping the shrink guard', async () => {
    const t = topo.get();
    const base = t.provider.baseDn;
    const section = agentSection();
    let ldap = agentOn(1);
    const runner = () => new MapSyncRunner(ldap, base, section, log);
    await until('consumer 2 in sync', 10000, async () => (await readContextCsn(ldap, base)) === (await readContextCsn(portal, base)));
    await runner().run();
    const before = mapLines(section).length;
    await t.stopConsumer(1);
    for (let i = 0; i < 5; i++) {
      await dir.people.create({ username: `missed${i}` });
      await dir.identities.bind(`missed${i}`, { type: 'x509', subject: `/DC=org/CN=Missed ${i}` });
    }
    await dir.deletePerson('base0'); // a removal while the consumer was away
    await t.startConsumer(1);
    ldap = agentOn(1);
    const providerCsn = await readContextCsn(portal, base);
    await until('restarted consumer to catch up', 15000, async () => (await readContextCsn(ldap, base)) === providerCsn);
    // contextCSN equal is not proof the refresh is complete: slapd may set it before the last
    // refreshed entries are written (seen in about one run in five). The agent's next checks and
    // its full-sync schedule converge; here: sync until the map holds what the provider holds,
    // each sync passing the shrink guard (it throws ShrinkRefusedError otherwise).
    const refused: unknown[] = [];
    await until('the map on the restarted consumer to converge', 10000, async () =>
      (await runner().run().catch((err: unknown) => {
        if (err instanceof ShrinkRefusedError) refused.push(err);
        throw err;
      })).lines === before + 5 - 1);
    expect(refused).to.deep.equal([]);
    expect(mapLines(section).some((l) => l.includes('username:missed4 '))).to.equal(true);
    expect(mapLines(section).some((l) => l.includes('username:base0 '))).to.equal(false);
  });

  it('a consumer that lost its provider keeps serving; the agent reports staleness', async () => {
    const t = topo.get();
    const base = t.provider.baseDn;
    const ldap = agentOn(0);
    const section = agentSection();
    const metrics = new AgentMetrics();
    const runner = new MapSyncRunner(ldap, base, section, log, metrics);
    const daemon = new MapDaemon(runner, ldap, base, section, log, metrics);
    await until('consumer 1 in sync', 10000, async () => (await readContextCsn(ldap, base)) === (await readContextCsn(portal, base)));
    await t.provider.stop();
    await daemon.checkForChange();
    const lines = (await runner.run()).lines;
    expect(lines).to.be.above(20);
    const first = metrics.stalenessSeconds()!;
    await sleep(1500);
    await daemon.checkForChange();
    expect(metrics.stalenessSeconds()!).to.be.above(first + 1);
    const text = await metrics.registry.metrics();
    expect(text).to.match(/cg_directory_staleness_seconds \d/).and.match(/cg_directory_last_change_timestamp_seconds \d/);
    // An ingest-only agent (syncEnabled false: `run` calls startStalenessOnly) reports it too, and writes no map.
    const ingestOnly = { ...agentSection(), syncEnabled: false };
    const ingestMetrics = new AgentMetrics();
    const watcher = new MapDaemon(new MapSyncRunner(ldap, base, ingestOnly, log, ingestMetrics), ldap, base, ingestOnly, log, ingestMetrics);
    watcher.startStalenessOnly();
    try {
      await until('staleness observed', 5000, async () => ingestMetrics.stalenessSeconds() !== undefined);
      expect(ingestMetrics.stalenessSeconds()!).to.be.above(first + 1);
      expect(existsSync(ingestOnly.multimapPath), 'no map written').to.equal(false);
    } finally {
      await watcher.stop();
    }
  });
});
