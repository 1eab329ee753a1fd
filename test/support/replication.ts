/**
 * Mocha fixture: a replicated topology of real slapd processes (core/ldap/managed-slapd.ts with
 * replication options): one provider and `consumers` read-only consumers following it with
 * syncrepl refreshAndPersist. Consumers use the provider's accounts (the service entries
 * replicate); syncrepl reads the provider as its replicator account (never its rootdn).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RangesConfig } from '../../core/ldap/config.js';
import { freeLoopbackPort, startManagedSlapd, type ManagedSlapd } from '../../core/ldap/managed-slapd.js';

export interface Topology {
  provider: ManagedSlapd;
  consumers: ManagedSlapd[];
  /** Stop consumer i and start it again on the same directory and port (data kept). */
  restartConsumer(i: number): Promise<ManagedSlapd>;
  stopConsumer(i: number): Promise<void>;
  startConsumer(i: number): Promise<ManagedSlapd>;
  root: string;
}

export function useReplicatedSlapd(options: { consumers?: number; ranges?: RangesConfig } = {}): { get(): Topology } {
  let topo: Topology | undefined;
  before(async function () {
    this.timeout(60000);
    const root = mkdtempSync(join(tmpdir(), 'cg-repl-'));
    const provider = await startManagedSlapd({ dir: join(root, 'provider'), ranges: options.ranges, replication: { serverId: 1 } });
    const credentials = { admin: provider.admin, portal: provider.portal, agent: provider.agent, nss: provider.nss, replicator: provider.replicator };
    const consumers: ManagedSlapd[] = [];
    const ports: number[] = [];
    const start = async (i: number) => {
      const c = await startManagedSlapd({
        dir: join(root, `consumer${i + 1}`),
        ...(ports[i] !== undefined ? { port: ports[i] } : {}),
        credentials,
        replication: { consumerOf: [{ rid: i + 1, url: provider.url, bindDn: provider.replicator.dn, password: provider.replicator.password }] },
      });
      ports[i] = c.port;
      consumers[i] = c;
      return c;
    };
    for (let i = 0; i < (options.consumers ?? 2); i++) await start(i);
    topo = {
      provider,
      consumers,
      root,
      stopConsumer: (i) => consumers[i]!.stop(),
      startConsumer: start,
      async restartConsumer(i) {
        await consumers[i]!.stop();
        return start(i);
      },
    };
  });
  after(async function () {
    this.timeout(20000);
    if (!topo) return;
    for (const c of topo.consumers) await c.stop();
    await topo.provider.stop();
    if (process.env.CG_KEEP_SLAPD !== '1') rmSync(topo.root, { recursive: true, force: true });
    topo = undefined;
  });
  return {
    get() {
      if (!topo) throw new Error('useReplicatedSlapd: not started');
      return topo;
    },
  };
}

/** Two providers in multi-provider (mirror) mode, each following the other; only the first bootstraps. */
export function useMultiProvider(): { get(): { providers: ManagedSlapd[]; root: string; stop(i: number): Promise<void>; start(i: number): Promise<ManagedSlapd> } } {
  let state: { providers: ManagedSlapd[]; root: string; stop(i: number): Promise<void>; start(i: number): Promise<ManagedSlapd> } | undefined;
  before(async function () {
    this.timeout(60000);
    const root = mkdtempSync(join(tmpdir(), 'cg-mmr-'));
    const ports = [await freeLoopbackPort(), await freeLoopbackPort()];
    // first start: bootstrap the tree and make the accounts; then both run with their peer configured
    const first = await startManagedSlapd({ dir: join(root, 'provider1'), port: ports[0], replication: { serverId: 1 } });
    const creds = { admin: first.admin, portal: first.portal, agent: first.agent, nss: first.nss, replicator: first.replicator };
    await first.stop();
    const peer = (port: number) => [{ rid: 1, url: `ldap://127.0.0.1:${port}`, bindDn: creds.replicator.dn, password: creds.replicator.password }];
    const providers: ManagedSlapd[] = [];
    const start = async (i: number) => {
      providers[i] = await startManagedSlapd({
        dir: join(root, `provider${i + 1}`),
        port: ports[i],
        credentials: creds,
        replication: { serverId: i + 1, multiProvider: true, bootstrap: i === 0, consumerOf: peer(ports[1 - i]!) },
      });
      return providers[i]!;
    };
    await start(0);
    await start(1);
    state = { providers, root, start, stop: (i) => providers[i]!.stop() };
  });
  after(async function () {
    this.timeout(20000);
    if (!state) return;
    for (const p of state.providers) await p.stop();
    if (process.env.CG_KEEP_SLAPD !== '1') rmSync(state.root, { recursive: true, force: true });
    state = undefined;
  });
  return {
    get() {
      if (!state) throw new Error('useMultiProvider: not started');
      return state;
    },
  };
}
