/**
 * Multi-provider writers from the configuration file (docs/replication.md): `allocation.partition`
 * gives this portal its share of the number ranges, and `campaign-guard writer designate` (an
 * admin's audited decision) names the writer that may claim names. CLI against a real slapd.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../core/config.js';
import { Directory } from '../../core/directory/index.js';
import { openDirectory } from '../../core/directory/open.js';
import { directoryConfigSchema, rangesConfigSchema } from '../../core/ldap/config.js';
import { AuditTrail } from '../../server/audit/trail.js';
import { useManagedSlapd } from '../support/slapd.js';

describe('campaign-guard writer (allocation.partition from the config, CLI, real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  const dataDir = mkdtempSync(join(tmpdir(), 'cg-cli-writer-'));
  const env = (extra: Record<string, string> = {}) => ({
    CG_PORTAL__DATA_DIR: dataDir,
    CG_LDAP__URL: fx.slapd.url,
    CG_LDAP__BIND_DN: fx.slapd.portal.dn,
    CG_LDAP__PASSWORD: fx.slapd.portal.password,
    CG_LDAP__BASE_DN: fx.slapd.baseDn,
    ...extra,
  });
  const partitioned = { CG_ALLOCATION__PARTITION__INDEX: '1', CG_ALLOCATION__PARTITION__COUNT: '2' };
  const run = (extra: Record<string, string>, ...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'server/cli.ts', 'writer', ...args], { env: { ...process.env, ...env(extra) }, encoding: 'utf8' });

  it('a configured partition gives this portal its share of numbers and refuses claims until an admin designates it', async () => {
    await new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) }).people.create({ username: 'ada', roles: ['admin'] });

    const shown = run(partitioned, 'show', '--as', 'ada');
    expect(shown.status, shown.stderr).to.equal(0);
    expect(shown.stdout).to.include('this portal: writer 1 of 2; names are claimed and requests decided at writer (none designated)');

    const open = await openDirectory(loadConfig(directoryConfigSchema, { env: env(partitioned) }));
    try {
      const refused = await open.directory.people.create({ username: 'nina' }).then(() => 'created', (e: Error) => e.message);
      expect(refused).to.match(/must be written at the designated writer \(none designated\); this portal is writer 1/);

      expect(run(partitioned, 'designate', '1', '--as', 'ada').status, 'a reason is required').to.not.equal(0);
      const done = run(partitioned, 'designate', '1', '--as', 'ada', '--reason', 'provider A retired');
      expect(done.status, done.stderr).to.equal(0);
      const nina = await open.directory.people.create({ username: 'nina' });
      const { uid } = rangesConfigSchema.parse({});
      expect((nina.uidNumber - uid.min) % 2, 'writer 1 of 2 hands out the odd share').to.equal(1);
    } finally {
      await open.close();
    }
    const trail = new AuditTrail(join(dataDir, 'audit.sqlite'));
    const records = [...trail.all()].filter((r) => r.action === 'allocation.designate-writer');
    trail.close();
    expect(records.map((r) => [r.actor, r.target, (r.details as { reason: string }).reason])).to.deep.equal([['ada', 'writer 1', 'provider A retired']]);
  });

  it('refuses: designating without a partition, an index outside the count, a partition index ≥ count in the config', () => {
    const single = run({}, 'designate', '0', '--as', 'ada', '--reason', 'try');
    expect(single.status).to.not.equal(0);
    expect(single.stderr).to.include('no allocation.partition is configured');
    const outside = run(partitioned, 'designate', '2', '--as', 'ada', '--reason', 'try');
    expect(outside.status).to.not.equal(0);
    expect(outside.stderr).to.include('writer: an index 0..1');
    expect(() => loadConfig(directoryConfigSchema, { env: { CG_ALLOCATION__PARTITION__INDEX: '2', CG_ALLOCATION__PARTITION__COUNT: '2' } })).to.throw(/allocation\.partition.*index must be 0\.\.count-1/s);
  });
});
