/**
 * The replicator account (cn=replicator,ou=services): what syncrepl consumers read the provider as
 * (docs/replication.md), never the rootdn. The OpenLDAP Administrator's Guide (doc/guide/admin/
 * replication.sdf, "Configuring the different replication types", syncprov): "the replication user
 * needs unrestricted read access to the database and as such this tends to be the first access rule
 * for that database: access to * by "$REPLICATOR" read by * break", and "the search limits must be
 * high enough on the provider to allow the syncuser to retrieve a complete copy". So: it reads
 * every entry and attribute the rootdn reads (operational ones too: syncrepl needs entryUUID and
 * entryCSN), in one search beyond slapd's default size limit of 500; it changes nothing; and the
 * rule, first of all, leaves every other account where it was: each sees the same entries and
 * attributes as with the rule taken out (slapd.access(5): "break" goes on to the next <what>).
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ForbiddenError } from '../../../core/errors.js';
import { Directory } from '../../../core/directory/directory.js';
import { LdapConnection } from '../../../core/ldap/connection.js';
import { freeLoopbackPort, startManagedSlapd, type ManagedSlapd } from '../../../core/ldap/managed-slapd.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { serveSlapdConf } from '../../support/tls-slapd.js';
import { rejection } from '../../support/rejection.js';

/** Every entry of the tree an account sees, as `dn -> attribute -> sorted values`, with user and operational attributes. */
async function everythingUnder(ldap: LdapConnection, base: string): Promise<Map<string, Record<string, string[]>>> {
  const entries = await ldap.search(base, { scope: 'sub', filter: '(objectClass=*)', attributes: ['*', '+'] }).catch((err: Error) => {
    if (err.name === 'NotFoundError') return []; // not even the suffix is visible
    throw err;
  });
  return new Map(entries.map((e) => [e.dn.toLowerCase(), Object.fromEntries([...e.attributes].map(([a, values]) => [a, [...values].sort()]))]));
}

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

  const everything = (ldap: LdapConnection) => everythingUnder(ldap, base);

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

  it('every other account sees exactly what it saw without the rule: the same entries and attributes, in the whole tree', async () => {
    // A directory of every kind of entry, served once with our rules and once with rule 0 taken out.
    const root = mkdtempSync(join(tmpdir(), 'cg-rule0-'));
    let own: ManagedSlapd | undefined = await startManagedSlapd({ dir: join(root, 'slapd') });
    let without: { stop(): Promise<void> } | undefined;
    try {
      const baseDn = own.baseDn;
      const d = new Directory({ ldap: own.connect('portal'), baseDn, ranges: rangesConfigSchema.parse({}) });
      for (const u of ['ann', 'bob', 'cyd']) await d.people.create({ username: u, displayName: u.toUpperCase(), mail: `${u}@example.org` });
      await d.identities.bind('ann', { type: 'x509', subject: '/DC=org/DC=example/CN=Ann' });
      await d.identities.bind('bob', { type: 'oidc', issuer: 'https://iam.example.org/', subject: 'bob-sub' });
      await d.campaigns.create({ name: 'tide', pi: 'ann', embargoEnd: new Date('2030-01-01T00:00:00Z') });
      await d.campaigns.addMember('tide', 'cyd');
      await d.requests.create({ requester: 'bob', campaign: 'tide', justification: 'I model tides' });
      await d.people.suspend('cyd');
      await d.ldap.close();
      const accounts = { portal: own.portal, agent: own.agent, nss: own.nss };
      const seen = async (url: string) => {
        const views: Record<string, Map<string, Record<string, string[]>>> = {};
        for (const [name, c] of Object.entries(accounts)) {
          const ldap = new LdapConnection({ url, bindDn: c.dn, password: c.password, connectTimeoutMs: 2000 });
          try {
            views[name] = await everythingUnder(ldap, baseDn);
          } finally {
            await ldap.close();
          }
        }
        return views;
      };
      const withRule = await seen(own.url);
      const conf = readFileSync(join(own.dir, 'slapd.conf'), 'utf8');
      const rule0 = /# 0\. Replication:[\s\S]*?by \* break\n/;
      expect(rule0.test(conf), 'rule 0 in slapd.conf').to.equal(true);
      await own.stop();
      own = undefined;
      writeFileSync(join(root, 'without-rule0.conf'), conf.replace(rule0, ''), { mode: 0o600 });
      const url = `ldap://127.0.0.1:${await freeLoopbackPort()}`;
      without = await serveSlapdConf(join(root, 'without-rule0.conf'), [url], { ...accounts.agent, baseDn });
      const withoutRule = await seen(url);
      for (const name of Object.keys(accounts)) {
        expect([...withRule[name]!.keys()].sort(), name).to.deep.equal([...withoutRule[name]!.keys()].sort());
        for (const [dn, attrs] of withoutRule[name]!) expect(withRule[name]!.get(dn), `${name} ${dn}`).to.deep.equal(attrs);
      }
      expect(withRule.agent!.size, 'the agent sees people, groups, campaigns, identities').to.be.greaterThan(8);
    } finally {
      await without?.stop();
      await own?.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

