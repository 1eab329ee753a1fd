/**
 * Least privilege on storage nodes (issue 16, item 7), against a real slapd with the managed ACLs:
 * the NSS account (cn=nss,ou=services) sees only the POSIX attributes of active people and of their
 * groups; a suspended person leaves what it sees and comes back on reactivation; the mapper agent's
 * account reads what the map needs and no more. The searches are the ones nslcd makes with its
 * default filters (nslcd.conf(5): "The default filter is a basic search on the objectClass for the
 * map"); test/deploy/nss-clients.test.ts runs the real nslcd and sssd.
 */
import { expect } from 'chai';
import { Client } from 'ldapts';
import { Directory } from '../../../core/directory/directory.js';
import { ForbiddenError } from '../../../core/errors.js';
import { NSS_GROUP_ATTRIBUTES, NSS_PERSON_ATTRIBUTES } from '../../../core/ldap/managed-slapd.js';
import type { LdapConnection } from '../../../core/ldap/connection.js';
import { readDirectory } from '../../../mapper-agent/map/directory-reader.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { rejection } from '../../support/rejection.js';

/** Every entry and every attribute (user and operational) an account can see under the suffix. */
async function everythingVisible(url: string, dn: string, password: string, base: string): Promise<Map<string, Record<string, string[]>>> {
  const client = new Client({ url });
  try {
    await client.bind(dn, password);
    const res = await client.search(base, { scope: 'sub', filter: '(objectClass=*)', attributes: ['*', '+'] });
    const out = new Map<string, Record<string, string[]>>();
    for (const e of res.searchEntries) {
      const attrs: Record<string, string[]> = {};
      for (const [k, v] of Object.entries(e)) {
        const values = (Array.isArray(v) ? v : [v]).map(String);
        if (k !== 'dn' && values.length) attrs[k.toLowerCase()] = values; // ldapts lists requested-but-absent attributes as []
      }
      out.set(e.dn.toLowerCase(), attrs);
    }
    return out;
  } finally {
    await client.unbind();
  }
}

describe('core/ldap NSS and agent accounts: least privilege (real slapd)', function () {
  this.timeout(30000);
  const fx = useManagedSlapd();
  let dir: Directory;
  let base: string;
  let alice: { uidNumber: number; gidNumber: number };
  let bob: { uidNumber: number; gidNumber: number };

  before(async () => {
    base = fx.slapd.baseDn;
    dir = new Directory({ ldap: fx.portal, baseDn: base, ranges: { uid: { min: 10000, max: 59999 }, gid: { min: 100000, max: 199999 } } });
    alice = await dir.people.create({ username: 'alice', cn: 'Alice Smith', givenName: 'Alice', displayName: 'Dr A', mail: 'alice@example.org', roles: ['admin'], policyAgreements: ['aup-v1'] });
    bob = await dir.people.create({ username: 'bob', cn: 'Bob Jones', mail: 'bob@example.org' });
    await dir.people.create({ username: 'carol', cn: 'Carol', mail: 'carol@example.org' });
    await dir.campaigns.create({ name: 'deep-field', pi: 'alice', description: 'deep field survey', embargoEnd: new Date('2030-01-01T00:00:00Z') });
    await dir.campaigns.addMember('deep-field', 'bob');
    await dir.identities.bind('alice', { type: 'x509', subject: '/DC=org/DC=example/CN=Alice Smith', issuer: '/DC=org/DC=example/CN=Example CA', notAfter: new Date('2030-01-01T00:00:00Z') });
    await dir.identities.bind('bob', { type: 'oidc', issuer: 'https://op.example.org', subject: 'bob-sub-123' });
    await dir.requests.create({ campaign: 'deep-field', requester: 'carol', justification: 'my private reasons' });
  });

  const nssSearch = (ldap: LdapConnection, ou: string, filter: string, attributes: string[] = ['*']) => ldap.search(`ou=${ou},${base}`, { scope: 'sub', filter, attributes });

  it('bootstraps cn=nss,ou=services: it binds and cannot write anything', async () => {
    expect(fx.slapd.nss.dn).to.equal(`cn=nss,ou=services,${base}`);
    expect((await fx.admin.read(fx.slapd.nss.dn, ['objectClass']))?.getAll('objectClass')).to.include('simpleSecurityObject');
    await fx.nss.ping(base);
    expect(await rejection(fx.nss.modify(`uid=alice,ou=people,${base}`, [{ operation: 'replace', attribute: 'loginShell', values: ['/bin/sh'] }]))).to.be.instanceOf(ForbiddenError);
    expect(await rejection(fx.nss.add(`cn=x,ou=groups,${base}`, { objectClass: 'posixGroup', cn: 'x', gidNumber: '1' }))).to.be.instanceOf(ForbiddenError);
  });

  it('shows the NSS account only posixAccount/posixGroup attributes of people, private groups and campaigns', async () => {
    const seen = await everythingVisible(fx.slapd.url, fx.slapd.nss.dn, fx.slapd.nss.password, base);
    const allowedDns = [base, `ou=people,${base}`, `ou=groups,${base}`, `ou=campaigns,${base}`,
      ...['alice', 'bob', 'carol'].flatMap((u) => [`uid=${u},ou=people,${base}`, `cn=${u},ou=groups,${base}`]), `cn=deep-field,ou=campaigns,${base}`].map((d) => d.toLowerCase());
    expect([...seen.keys()].sort()).to.deep.equal([...allowedDns].sort());
    // Not even operational attributes (creatorsName, entryUUID, timestamps...): only these.
    const allowedAttrs = new Set([...NSS_PERSON_ATTRIBUTES, ...NSS_GROUP_ATTRIBUTES, 'ou'].map((a) => a.toLowerCase()));
    for (const [dn, attrs] of seen) {
      for (const name of Object.keys(attrs)) expect(allowedAttrs.has(name), `${name} of ${dn}: ${JSON.stringify(attrs)}`).to.equal(true);
    }
    const person = seen.get(`uid=alice,ou=people,${base}`.toLowerCase())!;
    expect(person).to.deep.include({ uid: ['alice'], cn: ['Alice Smith'], uidnumber: [String(alice.uidNumber)], gidnumber: [String(alice.gidNumber)], homedirectory: ['/home/alice'], loginshell: ['/bin/bash'] });
    expect(seen.get(`cn=deep-field,ou=campaigns,${base}`.toLowerCase())!.memberuid).to.deep.equal(['alice', 'bob']);
  });

  it('finds nothing when the NSS account searches by mail, certificate, OIDC, justification or status', async () => {
    for (const f of ['(mail=*)', '(mail=alice@example.org)', '(cgCertSubject=*)', '(cgCertIssuer=*)', '(cgCertNotAfter=*)', '(cgOidcSubject=*)', '(cgOidcIssuer=*)',
      '(cgJustification=*)', '(cgRequestState=*)', '(voPersonStatus=*)', '(cgRole=*)', '(voPersonPolicyAgreement=*)', '(sn=*)', '(givenName=*)', '(displayName=*)',
      '(cgPrincipalInvestigator=*)', '(cgEmbargoEnd=*)', '(description=*)', '(cgIdentityKey=*)', '(cgNextValue=*)', '(userPassword=*)']) {
      expect(await fx.nss.search(base, { scope: 'sub', filter: f, attributes: ['*'] }), f).to.deep.equal([]);
    }
    // Explicitly asked-for attributes are not returned either.
    const [a] = await nssSearch(fx.nss, 'people', '(uid=alice)', ['mail', 'sn', 'givenName', 'displayName', 'voPersonStatus', 'cgRole', 'userPassword', 'uid']);
    expect(a?.getAll('uid')).to.deep.equal(['alice']);
    for (const name of ['mail', 'sn', 'givenName', 'displayName', 'voPersonStatus', 'cgRole', 'userPassword']) expect(a?.has(name), name).to.equal(false);
    // The identities, requests, allocation, tombstones and services subtrees do not exist for it.
    for (const ou of ['identities', 'requests', 'allocation', 'tombstones', 'services']) {
      expect(await fx.nss.read(`ou=${ou},${base}`), ou).to.equal(undefined);
    }
  });

  it("answers nslcd's default lookups (passwd by name and uid, group by name, gid and member) as the NSS account", async () => {
    const byName = await nssSearch(fx.nss, 'people', '(&(objectClass=posixAccount)(uid=alice))');
    expect(byName.map((e) => e.get('uidNumber'))).to.deep.equal([String(alice.uidNumber)]);
    const byUid = await nssSearch(fx.nss, 'people', `(&(objectClass=posixAccount)(uidNumber=${bob.uidNumber}))`);
    expect(byUid.map((e) => e.get('uid'))).to.deep.equal(['bob']);
    const group = await nssSearch(fx.nss, 'campaigns', '(&(objectClass=posixGroup)(cn=deep-field))');
    expect(group[0]?.getAll('memberUid')).to.deep.equal(['alice', 'bob']);
    const priv = await nssSearch(fx.nss, 'groups', `(&(objectClass=posixGroup)(gidNumber=${bob.gidNumber}))`);
    expect(priv.map((e) => e.get('cn'))).to.deep.equal(['bob']);
    // initgroups: nslcd asks (&(objectClass=posixGroup)(|(memberUid=NAME)(member=DN)))
    const member = await fx.nss.search(base, { scope: 'sub', filter: `(&(objectClass=posixGroup)(|(memberUid=bob)(member=uid=bob,ou=people,${base})))`, attributes: ['cn'] });
    expect(member.map((e) => e.get('cn')).sort()).to.deep.equal(['bob', 'deep-field']);
  });

  it('hides a suspended person from the NSS account (account, private group, memberUid everywhere) and shows them again on reactivation', async () => {
    const nssView = async () => ({
      passwd: (await nssSearch(fx.nss, 'people', '(objectClass=posixAccount)')).map((e) => e.get('uid')).sort(),
      byUid: (await nssSearch(fx.nss, 'people', `(&(objectClass=posixAccount)(uidNumber=${bob.uidNumber}))`)).length,
      groups: (await fx.nss.search(base, { scope: 'sub', filter: '(objectClass=posixGroup)', attributes: ['cn', 'memberUid'] })).map((e) => `${e.get('cn')}:${e.getAll('memberUid').join(',')}`).sort(),
      bobsGroups: (await fx.nss.search(base, { scope: 'sub', filter: '(&(objectClass=posixGroup)(memberUid=bob))', attributes: ['cn'] })).map((e) => e.get('cn')).sort(),
    });
    const before = await nssView();
    expect(before).to.deep.equal({ passwd: ['alice', 'bob', 'carol'], byUid: 1, groups: ['alice:alice', 'bob:bob', 'carol:carol', 'deep-field:alice,bob'], bobsGroups: ['bob', 'deep-field'] });

    await dir.people.suspend('bob');
    expect(await nssView()).to.deep.equal({ passwd: ['alice', 'carol'], byUid: 0, groups: ['alice:alice', 'carol:carol', 'deep-field:alice'], bobsGroups: [] });
    expect(await fx.nss.read(`uid=bob,ou=people,${base}`)).to.equal(undefined);
    // The directory itself is unchanged: the agent (and the portal) still see bob, suspended, in the campaign.
    expect((await fx.agent.read(`uid=bob,ou=people,${base}`, ['voPersonStatus']))?.get('voPersonStatus')).to.equal('suspended');
    expect((await fx.agent.read(`cn=deep-field,ou=campaigns,${base}`, ['memberUid']))?.getAll('memberUid')).to.deep.equal(['alice', 'bob']);

    await dir.people.reactivate('bob');
    expect(await nssView()).to.deep.equal(before);
  });

  it('hides a memberUid that names no person, and a person without voPersonStatus, from NSS (fail closed)', async () => {
    await fx.admin.modify(`cn=deep-field,ou=campaigns,${base}`, [{ operation: 'add', attribute: 'memberUid', values: ['ghost', 'Not A Name'] }]);
    await fx.admin.modify(`uid=carol,ou=people,${base}`, [{ operation: 'delete', attribute: 'voPersonStatus', values: [] }]);
    try {
      expect((await nssSearch(fx.nss, 'campaigns', '(cn=deep-field)', ['memberUid']))[0]?.getAll('memberUid')).to.deep.equal(['alice', 'bob']);
      expect((await fx.agent.read(`cn=deep-field,ou=campaigns,${base}`, ['memberUid']))?.getAll('memberUid')).to.include.members(['ghost', 'Not A Name']);
      expect(await nssSearch(fx.nss, 'people', '(uid=carol)')).to.deep.equal([]);
    } finally {
      await fx.admin.modify(`cn=deep-field,ou=campaigns,${base}`, [{ operation: 'delete', attribute: 'memberUid', values: ['ghost', 'Not A Name'] }]);
      await fx.admin.modify(`uid=carol,ou=people,${base}`, [{ operation: 'replace', attribute: 'voPersonStatus', values: ['active'] }]);
    }
  });

  it('lets the agent read what the map and ingest need, and nothing else', async () => {
    const seen = await everythingVisible(fx.slapd.url, fx.slapd.agent.dn, fx.slapd.agent.password, base);
    const names = new Set([...seen.values()].flatMap((a) => Object.keys(a)));
    for (const needed of ['contextcsn', 'uid', 'uidnumber', 'gidnumber', 'vopersonstatus', 'mail', 'memberuid', 'cgprincipalinvestigator', 'cgembargoend', 'cgcampaignstate',
      'cgidentitytype', 'cgowner', 'cgcertsubject', 'cgcertnotafter', 'cgoidcissuer', 'cgoidcsubject']) {
      expect(names.has(needed), needed).to.equal(true);
    }
    for (const hidden of ['cgjustification', 'cgrequeststate', 'cgrequester', 'cgcertissuer', 'cgidentitykey', 'cgnextvalue', 'cgdeletedat', 'userpassword',
      'sn', 'givenname', 'displayname', 'cgrole', 'vopersonpolicyagreement']) {
      expect(names.has(hidden), hidden).to.equal(false);
    }
    for (const dn of seen.keys()) expect(dn, dn).to.not.match(/ou=(requests|allocation|tombstones|services),/);

    // What the agent's code reads, with the agent's account: the map's three searches and the campaign facts.
    const snapshot = await readDirectory(fx.agent, base);
    const identities: string[] = [];
    await snapshot.forEachIdentity((i) => identities.push(`${i.type}:${i.owner}:${i.ref.subject}`));
    expect(snapshot.problems).to.deep.equal([]);
    expect(snapshot.accounts.get('bob')).to.deep.include({ uidNumber: bob.uidNumber, active: true });
    expect(identities.sort()).to.deep.equal(['oidc:bob:bob-sub-123', 'x509:alice:/DC=org/DC=example/CN=Alice Smith']);
    const agentDir = new Directory({ ldap: fx.agent, baseDn: base, ranges: { uid: { min: 10000, max: 59999 }, gid: { min: 100000, max: 199999 } } });
    const campaign = await agentDir.campaigns.require('deep-field');
    expect(campaign.embargoEnd?.toISOString()).to.equal('2030-01-01T00:00:00.000Z');
    const pi = await agentDir.people.getByDn(campaign.piDn);
    expect(pi).to.deep.include({ uidNumber: alice.uidNumber, status: 'active', mail: 'alice@example.org' });
    expect(await agentDir.contextCsn()).to.match(/^\d{14}\.\d{6}Z#/);
  });
});

describe('core/ldap NSS account with a base DN in another case and spacing (real slapd)', function () {
  this.timeout(30000);
  // slapd matches dn.regex against the normalised DN: the private-group rule must still apply.
  const fx = useManagedSlapd({ baseDn: 'dc=Example-Org, dc=Test' });

  it('shows a private group while its owner is active, and hides it while suspended', async () => {
    const base = fx.slapd.baseDn;
    const dir = new Directory({ ldap: fx.portal, baseDn: base, ranges: { uid: { min: 10000, max: 59999 }, gid: { min: 100000, max: 199999 } } });
    await dir.people.create({ username: 'dave', cn: 'Dave' });
    const groups = async () => (await fx.nss.search(`ou=groups,${base}`, { scope: 'one', filter: '(objectClass=posixGroup)', attributes: ['cn', 'memberUid'] })).map((e) => `${e.get('cn')}:${e.getAll('memberUid').join(',')}`);
    expect(await groups()).to.deep.equal(['dave:dave']);
    await dir.people.suspend('dave');
    expect(await groups()).to.deep.equal([]);
    await dir.people.reactivate('dave');
    expect(await groups()).to.deep.equal(['dave:dave']);
  });
});
