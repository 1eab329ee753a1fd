/** `campaign-guard doctor [--fix]`: the directory findings beside the trust report, exit codes as the agent's. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Directory } from '../../core/directory/index.js';
import { rangesConfigSchema } from '../../core/ldap/config.js';
import { useManagedSlapd } from '../support/slapd.js';

describe('campaign-guard doctor: directory findings (real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'server/cli.ts', 'doctor', ...args], {
      env: {
        ...process.env,
        CG_PORTAL__DATA_DIR: mkdtempSync(join(tmpdir(), 'cg-doctor-')),
        CG_LDAP__URL: fx.slapd.url,
        CG_LDAP__BIND_DN: fx.slapd.portal.dn,
        CG_LDAP__PASSWORD: fx.slapd.portal.password,
        CG_LDAP__BASE_DN: fx.slapd.baseDn,
      },
      encoding: 'utf8',
    });

  it('exits 0 on a consistent directory, 5 listing a planted inconsistency, and --fix repairs it (then 0)', async () => {
    const dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
    await dir.people.create({ username: 'dora' });
    const clean = run();
    expect(clean.status, clean.stderr + clean.stdout).to.equal(0);
    expect(clean.stdout).to.include('no CA configured').and.include('directory: consistent');

    await fx.admin.delete(`cn=dora,ou=groups,${fx.slapd.baseDn}`);
    await fx.admin.add(`cn=ghost,ou=groups,${fx.slapd.baseDn}`, { objectClass: ['top', 'posixGroup'], cn: 'ghost', gidNumber: '299990' }); // outside the gid range: the counter is not behind
    const found = run();
    expect(found.status).to.equal(5);
    expect(found.stdout).to.match(/FAIL person-without-group uid=dora,ou=people,.*\(--fix repairs it\)/).and.match(/FAIL group-without-person cn=ghost.*\(needs a person\)/);

    const fixed = run('--fix');
    expect(fixed.status, fixed.stdout).to.equal(5); // the ghost group needs a person
    expect(fixed.stdout).to.match(/fixed person-without-group uid=dora/).and.match(/NEEDS A PERSON group-without-person cn=ghost/).and.match(/directory: 1 repaired; now 1 group-without-person/);
    await fx.admin.delete(`cn=ghost,ou=groups,${fx.slapd.baseDn}`);
    expect(run().status).to.equal(0);
  });

  it('exits 3 when the directory cannot be reached', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/cli.ts', 'doctor'], {
      env: { ...process.env, CG_PORTAL__DATA_DIR: mkdtempSync(join(tmpdir(), 'cg-doctor-')), CG_LDAP__URL: 'ldap://127.0.0.1:9', CG_LDAP__BIND_DN: 'cn=x', CG_LDAP__PASSWORD: 'x', CG_LDAP__CONNECT_TIMEOUT_MS: '1000' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).to.equal(3);
    expect(r.stdout).to.include('FAIL directory');
  });
});
