import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Directory } from '../../core/directory/index.js';
import { rangesConfigSchema } from '../../core/ldap/config.js';
import { AuditTrail } from '../../server/audit/trail.js';
import { useManagedSlapd } from '../support/slapd.js';

describe('campaign-guard service (CLI, real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  const dataDir = mkdtempSync(join(tmpdir(), 'cg-cli-service-'));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'server/cli.ts', 'service', ...args], {
      env: {
        ...process.env,
        CG_PORTAL__DATA_DIR: dataDir,
        CG_LDAP__URL: fx.slapd.url,
        CG_LDAP__BIND_DN: fx.slapd.portal.dn,
        CG_LDAP__PASSWORD: fx.slapd.portal.password,
        CG_LDAP__BASE_DN: fx.slapd.baseDn,
      },
      encoding: 'utf8',
    });

  it('an admin creates, binds and lists service identities, audited as that admin; a non-admin is refused', async () => {
    const dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
    await dir.people.create({ username: 'ada', roles: ['admin'] });
    await dir.people.create({ username: 'bob' });
    await dir.campaigns.create({ name: 'flare', pi: 'bob' });

    const refused = run('create', '--as', 'bob', '--username', 'rucio', '--role', 'replication', '--description', 'Rucio FTS', '--reason', 'replication');
    expect(refused.status).to.equal(1);
    expect(refused.stderr).to.match(/admin role/);

    const made = run('create', '--as', 'ada', '--username', 'rucio', '--role', 'replication', '--description', 'Rucio FTS', '--reason', 'replication to tier 1');
    expect(made.status, made.stderr).to.equal(0);
    expect(made.stdout).to.match(/created rucio: replication, uid \d+/);
    expect((await dir.campaigns.require('flare')).members).to.include('rucio');
    const bound = run('bind', 'rucio', '--as', 'ada', '--subject', '/DC=org/DC=example/CN=Robot: rucio', '--reason', 'robot certificate');
    expect(bound.status, bound.stderr).to.equal(0);
    const oidc = run('bind', 'rucio', '--as', 'ada', '--issuer', 'https://iam.example.org/', '--sub', 'rucio-client', '--reason', 'OIDC client');
    expect(oidc.status, oidc.stderr).to.equal(0);
    const listed = run('list', '--as', 'ada');
    expect(listed.stdout.trim().split('\n')).to.have.length(1);
    expect(listed.stdout).to.match(/^rucio\treplication\t\d+\tactive\t/).and.include('/DC=org/DC=example/CN=Robot: rucio');

    const trail = new AuditTrail(join(dataDir, 'audit.sqlite'));
    const actions = [...trail.all()].map((r) => [r.actor, r.action, r.target]);
    trail.close();
    expect(actions).to.deep.include(['ada', 'service.create', 'rucio']);
    expect(actions).to.deep.include(['ada', 'membership.add', 'flare']);
    expect(actions.filter((a) => a[1] === 'identity.bind')).to.have.length(2);
  });
});
