/**
 * Benchmark (issue 9): PI approval at the provider → the member's campaign gid in the map of an
 * agent reading a read-only consumer (syncrepl refreshAndPersist), over 50 approvals one after the
 * other: p50/p99 of the end-to-end delay, target p99 ≤ 5 s. Real slapd processes on loopback (one
 * provider, one consumer, docs/replication.md); the agent is the daemon of `mapper-agent run` with
 * a 1 s contextCSN check, in this process.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Directory } from '../core/directory/index.js';
import { rangesConfigSchema } from '../core/ldap/config.js';
import { startManagedSlapd } from '../core/ldap/managed-slapd.js';
import { createLogger } from '../core/log.js';
import { agentSectionSchema } from '../mapper-agent/config.js';
import { MapDaemon, MapSyncRunner } from '../mapper-agent/map/runner.js';
import { report } from './lib.js';

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export async function benchReplication(scale: number): Promise<void> {
  const changes = Math.max(10, Math.round(50 * Math.min(1, scale * 10)));
  const root = mkdtempSync(join(tmpdir(), 'cg-bench-repl-'));
  const provider = await startManagedSlapd({ dir: join(root, 'provider'), replication: { serverId: 1 } });
  const consumer = await startManagedSlapd({
    dir: join(root, 'consumer'),
    credentials: { admin: provider.admin, portal: provider.portal, agent: provider.agent, nss: provider.nss, replicator: provider.replicator },
    replication: { consumerOf: [{ rid: 1, url: provider.url, bindDn: provider.replicator.dn, password: provider.replicator.password }] },
  });
  const portal = provider.connect('portal');
  const agentLdap = consumer.connect('agent');
  const log = createLogger('bench');
  const state = join(root, 'agent');
  mkdirSync(state, { recursive: true });
  const agent = agentSectionSchema.parse({ stateDir: state, multimapPath: join(state, 'multi-mapfile'), checkIntervalSeconds: 1 });
  const daemon = new MapDaemon(new MapSyncRunner(agentLdap, consumer.baseDn, agent, log), agentLdap, consumer.baseDn, agent, log);
  try {
    const dir = new Directory({ ldap: portal, baseDn: provider.baseDn, ranges: rangesConfigSchema.parse({}) });
    console.log(`replication: provider + 1 consumer, ${changes} PI approvals ...`);
    await dir.people.create({ username: 'pi' });
    const campaign = await dir.campaigns.create({ name: 'bench', pi: 'pi' });
    const requests: string[] = [];
    for (let i = 0; i < changes; i++) {
      await dir.people.create({ username: `m${i}` });
      await dir.identities.bind(`m${i}`, { type: 'x509', subject: `/DC=org/DC=example/CN=Member ${i}` });
      requests.push((await dir.requests.create({ campaign: 'bench', requester: `m${i}` })).id);
    }
    daemon.start();
    const line = (user: string) => {
      try {
        return readFileSync(agent.multimapPath, 'utf8').split('\n').find((l) => l.includes(` username:${user} `));
      } catch {
        return undefined;
      }
    };
    const deadline = Date.now() + 30000;
    while (!line(`m${changes - 1}`)) {
      if (Date.now() > deadline) throw new Error('the consumer\'s map never got the members');
      await sleep(50);
    }
    const delays: number[] = [];
    for (let i = 0; i < changes; i++) {
      const t0 = performance.now();
      await dir.requests.decide(requests[i]!, { decision: 'approved', decidedBy: 'pi' });
      for (;;) {
        if (line(`m${i}`)?.includes(`gid:${campaign.gidNumber}`)) break;
        if (performance.now() - t0 > 30000) throw new Error(`approval ${i} did not reach the map within 30 s`);
        await sleep(10);
      }
      delays.push((performance.now() - t0) / 1000);
    }
    const p99 = percentile(delays, 99);
    report('replication approval→map', { changes: String(changes), p50_s: percentile(delays, 50), p99_s: p99, max_s: Math.max(...delays) }, { ok: p99 <= 5, target: 'p99 <= 5 s (provider → consumer → agent map, 1 s check)' });
  } finally {
    await daemon.stop();
    await agentLdap.close();
    await portal.close();
    await consumer.stop();
    await provider.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
