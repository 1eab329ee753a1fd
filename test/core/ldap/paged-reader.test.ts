import { expect } from 'chai';
import { DirectoryUnavailableError } from '../../../core/errors.js';
import { PagedReader } from '../../../core/ldap/paged-reader.js';
import { useManagedSlapd } from '../../support/slapd.js';

describe('core/ldap/paged-reader (real slapd)', function () {
  this.timeout(20000);
  const fx = useManagedSlapd();
  // The rootdn: paging and attribute selection are under test here, not the service accounts' ACLs
  // (test/core/ldap/nss-access.test.ts shows what the agent's account may read).
  const reader = (password = fx.slapd.admin.password) => new PagedReader({ url: fx.slapd.url, bindDn: fx.slapd.admin.dn, password, timeoutMs: 5000 });

  before(async () => {
    for (let i = 0; i < 23; i++) {
      await fx.admin.add(`uid=u${i},ou=people,${fx.slapd.baseDn}`, {
        objectClass: ['top', 'person', 'inetOrgPerson', 'posixAccount'], uid: `u${i}`, cn: `Ünïcode ${i}`, sn: 's', uidNumber: String(1000 + i), gidNumber: '1', homeDirectory: `/h/${i}`, description: ['a', 'b'],
      });
    }
  });

  it('streams every entry over several pages, with only the requested attributes under lower-case names', async () => {
    const r = reader();
    await r.open();
    const seen = new Map<string, Map<string, string[]>>();
    try {
      const count = await r.search({ base: `ou=people,${fx.slapd.baseDn}`, scope: 'one', equality: ['objectClass', 'posixAccount'], attributes: ['uid', 'CN', 'description', 'mail'], pageSize: 5 }, (dn, attrs) => void seen.set(dn, attrs));
      expect(count).to.equal(23);
    } finally {
      await r.close();
    }
    expect(seen.size).to.equal(23);
    const u7 = seen.get(`uid=u7,ou=people,${fx.slapd.baseDn}`)!;
    expect([...u7.keys()].sort()).to.deep.equal(['cn', 'description', 'uid']);
    expect(u7.get('cn')).to.deep.equal(['Ünïcode 7']);
    expect(u7.get('description')).to.deep.equal(['a', 'b']);
  });

  it('fails the whole search with DirectoryUnavailableError: wrong credentials, missing base, nothing listening', async () => {
    const bad = reader('wrong');
    expect(await bad.open().catch((e: unknown) => e)).to.be.instanceOf(DirectoryUnavailableError).with.property('message').that.matches(/bind failed: LDAP result 49/);
    await bad.close();
    const r = reader();
    await r.open();
    try {
      const err = await r.search({ base: `ou=nowhere,${fx.slapd.baseDn}`, scope: 'one', equality: ['objectClass', 'top'], attributes: ['uid'], pageSize: 5 }, () => undefined).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(DirectoryUnavailableError).with.property('message').that.matches(/LDAP result 32/);
    } finally {
      await r.close();
    }
    const dead = new PagedReader({ url: 'ldap://127.0.0.1:9', bindDn: 'cn=x', password: 'x', timeoutMs: 1000 });
    const refused = await dead.open().catch((e: unknown) => e) as DirectoryUnavailableError;
    expect(refused).to.be.instanceOf(DirectoryUnavailableError).with.property('message').that.matches(/cannot connect/);
    expect((refused.cause as { code?: string }).code).to.equal('ECONNREFUSED');
  });
});
