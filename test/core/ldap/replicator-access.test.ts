/**
 * The replicator account (cn=replicator,ou=services): what syncrepl consumers read the provider as
 * (docs/replication.md), never the rootdn. The OpenLDAP Administrator's Guide (doc/guide/admin/
 * replication.sdf, "Configuring the different replication types", syncprov): "the replication user
 * needs unrestricted read access to the database and as such this tends to be the first access rule
 * for that database: access to * by "$REPLICATOR" read by * break", and "the search limits must be
 * high enough on the provider to allow the syncuser to retrieve a complete copy". So: it reads
 * every entry and attribute the rootdn reads (operational ones too: syncrepl needs entryUUID and
 * entryCSN), in one search beyond slapd's default size limit of 500; it changes nothing; and the
 * rule, first of all, leaves every other account where it was.
 */
import { expect } from 'chai';
import { ForbiddenError } from '../../../core/errors.js';
import { Directory } from '../../../core/directory/directory.js';
import type { LdapConnection } from '../../../core/ldap/connection.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { rejection } from '../../support/rejection.js';

describe('core/ldap: the replicator account', function () {
  this.timeout(60_000);
  const fx = useManagedSlapd();
  let replicator: LdapConnection;
  let base: string;

  before(async () => {
    base = fx.slapd.baseDn;
    replicator = fx.slapd.connect('replicator');
    const dir = new Directory({ ldap: fx.portal, baseDn: base, ranges: rangesConfigSchema.parse({}) });
    // More entries than slapd's default size limit (500) for an account without limits.
    for (let i = 0; i < 260; i++) {
      await dir.people.create({ username: `rep${i}`, displayName: `Rep ${i}`, mail: `rep${i}@example.org` });
      await dir.identities.bind(`rep${i}`, { type: 'x509', subject: `/DC=org/DC=example/CN=Rep ${i}` });
    }
    await dir.campaigns.create({ name: 'repl', pi: 'rep0', embargoEnd: new Date('2030-01-01T00:00:00Z') });
  });
  after(async () => {
    await replicator.close();
  });

  /** Every entry of the tree as `dn -> attribute -> sorted values`, with user and operational attributes. */
  async function everything(ldap: LdapConnection): Promise<Map<string, Record<string, string[]>>> {
    const entries = await ldap.search(base, { scope: 'sub', filter: '(objectClass=*)', attributes: ['*', '+'] });
    return new Map(entries.map((e) => [e.dn.toLowerCase(), Object.fromEntries([...e.attributes].map(([a, values]) => [a, [...values].sort()]))]));
  }

  it('reads every entry and attribute the rootdn reads, service passwords and entryCSN included, in one search', async () => {
    const asRoot = await everything(fx.admin);
    const asReplicator = await everything(replicator);
    expect(asRoot.size).to.be.greaterThan(500);
    expect([...asReplicator.keys()].sort()).to.deep.equal([...asRoot.keys()].sort());
    for (const [dn, attrs] of asRoot) expect(asReplicator.get(dn), dn).to.deep.equal(attrs);
    const agentEntry = asReplicator.get(fx.slapd.agent.dn.toLowerCase())!;
    expect(agentEntry.userpassword?.[0]).to.match(/^\{SSHA\}/);
    expect(asReplicator.get(`uid=rep1,ou=people,${base}`.toLowerCase())!.entrycsn).to.have.length(1);
  });

  it('changes nothing: no add, modify or delete anywhere, not even its own password', async () => {
    const person = `uid=rep1,ou=people,${base}`;
    expect(await rejection(replicator.add(`uid=intruder,ou=people,${base}`, { objectClass: ['top', 'account'], uid: 'intruder' }))).to.be.instanceOf(ForbiddenError);
    expect(await rejection(replicator.modify(person, [{ operation: 'replace', attribute: 'mail', values: ['evil@example.org'] }]))).to.be.instanceOf(ForbiddenError);
    expect(await rejection(replicator.modify(fx.slapd.replicator.dn, [{ operation: 'replace', attribute: 'userPassword', values: ['chosen'] }]))).to.be.instanceOf(ForbiddenError);
    expect(await rejection(replicator.delete(person))).to.be.instanceOf(ForbiddenError);
    expect((await fx.admin.read(person, ['mail']))?.get('mail')).to.equal('rep1@example.org');
  });

  it('leaves the other accounts where they were: none of them reads a password or the replicator\'s entry', async () => {
    for (const [name, ldap] of [['portal', fx.portal], ['agent', fx.agent], ['nss', fx.nss]] as const) {
      const services = await ldap.search(`ou=services,${base}`, { scope: 'sub', filter: '(objectClass=*)', attributes: ['userPassword'] }).catch(() => []);
      expect(services.flatMap((e) => e.getAll('userPassword')), name).to.deep.equal([]);
    }
    expect((await fx.portal.read(fx.slapd.replicator.dn, ['cn']))?.get('cn'), 'the portal lists the service accounts').to.equal('replicator');
    expect(await fx.agent.read(fx.slapd.replicator.dn, ['cn'])).to.equal(undefined);
    expect(await fx.nss.read(fx.slapd.replicator.dn, ['cn'])).to.equal(undefined);
  });
});
