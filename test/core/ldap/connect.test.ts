import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ldapConfigSchema } from '../../../core/ldap/config.js';
import { connectConfiguredOrRunning } from '../../../core/ldap/connect.js';
import { startManagedSlapd, type ManagedSlapd } from '../../../core/ldap/managed-slapd.js';

describe('core/ldap/connect: configured LDAP, or the running managed slapd', function () {
  this.timeout(20000);
  const varDir = mkdtempSync(join(tmpdir(), 'cg-connect-'));
  let slapd: ManagedSlapd | undefined;
  after(async () => {
    await slapd?.stop();
    rmSync(varDir, { recursive: true, force: true });
  });

  it('uses ldap.url when configured, with its limits', async () => {
    const ldap = connectConfiguredOrRunning(ldapConfigSchema.parse({ url: 'ldap://127.0.0.1:1', bindDn: 'cn=x', password: 'p', operationTimeoutMs: 1234 }), { varDir, account: 'agent' });
    expect(ldap?.options).to.deep.include({ url: 'ldap://127.0.0.1:1', bindDn: 'cn=x', operationTimeoutMs: 1234 });
    await ldap?.close();
  });

  it('is undefined when nothing is configured and no managed slapd runs', () => {
    expect(connectConfiguredOrRunning(ldapConfigSchema.parse({}), { varDir, account: 'agent' })).to.equal(undefined);
  });

  it('attaches to a running managed slapd as the given service account', async () => {
    slapd = await startManagedSlapd({ dir: join(varDir, 'slapd') });
    const ldap = connectConfiguredOrRunning(ldapConfigSchema.parse({ poolSize: 2 }), { varDir, account: 'agent' })!;
    try {
      expect(ldap.options.url.replace(/\/$/, '')).to.equal(slapd.url.replace(/\/$/, ''));
      expect(ldap.options).to.deep.include({ bindDn: slapd.agent.dn, poolSize: 2 });
      expect(await ldap.read(slapd.baseDn, ['1.1'])).to.not.equal(undefined);
    } finally {
      await ldap.close();
    }
  });
});
