/**
 * Benchmark (issue 4): a full `mapper-agent sync` against `ldapsearch -E pr=1000/noprompt` dumping
 * the same entries and attributes to a file, same directory, same run, several rounds. Prints the
 * median ratio (agent time / ldapsearch time), the agent's peak RSS, and the time of the daemon's
 * unchanged-directory check (one contextCSN read). Then how the map's memory grows with the
 * directory: peak RSS of the builder (bench/map-memory-probe.ts: the same entries generated, decoded
 * and built into a written map, without a directory server) at 10k, 100k and 1M accounts
 * (BENCH_MAP_SIZES to change them). The agent and the probe run with the node flags it is deployed
 * with (mapper-agent/node-flags.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readContextCsn } from '../core/directory/change-signal.js';
import { loadLargeDirectory } from './directory-fixture.js';
import { median, report, rounds, runCommand } from './lib.js';
import { AGENT_NODE_FLAGS } from '../mapper-agent/node-flags.js';

export async function benchMapperSync(scale: number): Promise<void> {
  const size = { accounts: Math.round(100_000 * scale), oidc: Math.round(20_000 * scale), campaigns: Math.max(1, Math.round(500 * scale)) };
  const dir = mkdtempSync(join(tmpdir(), 'cg-bench-sync-'));
  console.log(`mapper-sync: loading ${size.accounts} accounts x 2 certificates, ${size.oidc} OIDC identities, ${size.campaigns} campaigns ...`);
  const slapd = await loadLargeDirectory(join(dir, 'slapd'), size);
  try {
    const state = join(dir, 'agent');
    mkdirSync(state, { recursive: true });
    const config = join(dir, 'agent.yaml');
    writeFileSync(config, JSON.stringify({
      ldap: { url: slapd.url, bindDn: slapd.agent.dn, password: slapd.agent.password, baseDn: slapd.baseDn, operationTimeoutMs: 120000 },
      agent: { stateDir: state, multimapPath: join(state, 'multi-mapfile'), oidcAliases: { 'https://iam.example.org/': 'iam' } },
    }));
    const attrs = ['uid', 'uidNumber', 'gidNumber', 'voPersonStatus', 'memberUid', 'cgIdentityType', 'cgOwner', 'cgCertSubject', 'cgCertNotAfter', 'cgOidcIssuer', 'cgOidcSubject'];
    const filter = '(|(objectClass=posixAccount)(objectClass=cgIdentity)(objectClass=posixGroup))';
    const ldapsearch = () => runCommand('sh', ['-c', `ldapsearch -LLL -x -H ${slapd.url} -D '${slapd.agent.dn}' -w '${slapd.agent.password}' -b '${slapd.baseDn}' -E pr=1000/noprompt '${filter}' ${attrs.join(' ')} > ${join(dir, 'dump.ldif')}`]);
    const agent = () => runCommand(process.execPath, [...AGENT_NODE_FLAGS, 'dist/mapper-agent/cli.js', '--config', config, 'sync', '--force'], { ...process.env, CG_LOG_LEVEL: 'error' });

    agent(); // first run writes the map; the timed rounds measure full regenerations of an existing map
    const ref: number[] = [], ours: number[] = [], rss: number[] = [];
    for (let r = 0; r < rounds(); r++) {
      ref.push(ldapsearch().seconds);
      rmSync(join(state, 'multi-mapfile'), { force: true });
      const run = agent();
      ours.push(run.seconds);
      rss.push(run.peakRssMb);
    }
    const ratio = median(ours) / median(ref);
    report('mapper-sync full', { agent_s: median(ours), ldapsearch_s: median(ref), ratio, peak_rss_mb: Math.max(...rss) }, { ok: ratio <= 1.2 && Math.max(...rss) < 150, target: 'ratio <= 1.2, peak RSS < 150 MB' });

    const agentLdap = slapd.connect('agent');
    const checks: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await readContextCsn(agentLdap, slapd.baseDn);
      checks.push(performance.now() - t);
    }
    await agentLdap.close();
    const check = median(checks);
    report('mapper-sync unchanged check', { median_ms: check, p99_ms: checks.sort((a, b) => a - b)[Math.floor(checks.length * 0.99)]! }, { ok: check < 20, target: '< 20 ms' });

    const sizes = (process.env.BENCH_MAP_SIZES ?? '10000,100000,1000000').split(',').map(Number).filter((n) => n > 0);
    const grows: Record<string, number> = {};
    for (const accounts of sizes) {
      const probe = runCommand(process.execPath, [...AGENT_NODE_FLAGS, 'dist/bench/map-memory-probe.js', String(accounts), String(Math.round(accounts / 5)), String(Math.max(1, Math.round(accounts / 200))), join(dir, 'probe-map')]);
      grows[`rss_mb_${accounts >= 1e6 ? `${accounts / 1e6}M` : `${accounts / 1e3}k`}`] = probe.peakRssMb;
      rmSync(join(dir, 'probe-map'), { force: true });
    }
    if (sizes.length) report('mapper-sync memory growth', { ...grows, per_1k_accounts_mb: sizes.length > 1 ? (grows[Object.keys(grows).at(-1)!]! - grows[Object.keys(grows)[0]!]!) / ((sizes.at(-1)! - sizes[0]!) / 1000) : 0 });
  } finally {
    await slapd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
