/**
 * The portal's view of the directory (the stores, over ldapts) and the map reader's (the paged BER
 * reader) decode the same entries through core/directory/decode.ts: fed the same hand-written
 * entries (every voPersonStatus value, odd case, missing and unreadable attributes), they must
 * agree on who exists, who is active, which identities count and which campaigns people are in.
 */
import { expect } from 'chai';
import { Directory, isActive, VOPERSON_STATUSES, type Identity } from '../../../core/directory/index.js';
import { identityKey } from '../../../core/directory/layout.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { readDirectory, type MapIdentity } from '../../../mapper-agent/map/directory-reader.js';
import { useManagedSlapd } from '../../support/slapd.js';

/** voPersonStatus as written (undefined: absent) -> the status both sides must read. */
const STATUSES: [string | undefined, string][] = [
  ...VOPERSON_STATUSES.map((s): [string, string] => [s, s]),
  ['Active', 'active'], ['ACTIVE', 'active'], [' suspended ', 'suspended'], ['Expired', 'expired'], ['PENDING', 'pending'],
  ['revoked', 'unknown'], ['gone-fishing', 'unknown'], [undefined, 'active'],
];

describe('core/directory: the portal and the map reader decode entries alike (real slapd)', function () {
  const fx = useManagedSlapd();
  let dir: Directory;
  const base = () => fx.slapd.baseDn;
  const person = (i: number) => `p${i}`;
  const keys: string[] = [];

  before(async function () {
    this.timeout(20000);
    dir = new Directory({ ldap: fx.portal, baseDn: base(), ranges: rangesConfigSchema.parse({}) });
    const add = (dn: string, attrs: Record<string, string | string[]>) => fx.admin.add(dn, attrs);
    const personAttrs = (u: string, n: number, extra: Record<string, string | string[]> = {}) => ({
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'posixAccount', 'cgPerson'],
      uid: u, cn: u, sn: u, uidNumber: String(20000 + n), gidNumber: String(120000 + n), homeDirectory: `/home/${u}`, ...extra,
    });
    for (const [i, [status]] of STATUSES.entries()) {
      await add(`uid=${person(i)},ou=people,${base()}`, personAttrs(person(i), i, status === undefined ? {} : { voPersonStatus: status }));
    }
    // Odd case in the DN; a second uid value (slapd adds the RDN's); no uidNumber (extensibleObject allows it).
    await add(`UID=oddcase,OU=People,${base().toUpperCase()}`, personAttrs('oddcase', 90, { voPersonStatus: 'Active' }));
    await add(`uid=mismatch,ou=people,${base()}`, { ...personAttrs('mismatch', 91), uid: ['other'] });
    await add(`uid=nonumber,ou=people,${base()}`, { objectClass: ['top', 'person', 'inetOrgPerson', 'extensibleObject'], uid: 'nonumber', cn: 'n', sn: 'n' });

    const identity = async (subject: string, owner: string, extra: Record<string, string | string[]> = {}) => {
      const key = identityKey({ type: 'x509', subject });
      keys.push(key);
      await add(`cgIdentityKey=${key},ou=identities,${base()}`, {
        objectClass: ['top', 'cgIdentity'], cgIdentityKey: key, cgIdentityType: 'x509', cgOwner: owner, cgCertSubject: subject, voPersonStatus: 'active', ...extra,
      });
    };
    const ownerDn = (u: string) => `uid=${u},ou=people,${base()}`;
    // (cgIdentity requires voPersonStatus: the absent case exists for people only)
    for (const [i, [status]] of [...STATUSES, ['revoked', 'revoked'] as [string, string]].entries()) {
      if (status !== undefined) await identity(`/CN=status ${i}`, ownerDn('p0'), { voPersonStatus: status });
    }
    await identity('/CN=owner odd case', `UID=P0 , OU=People,${base().toUpperCase()}`);
    await identity('/CN=owner elsewhere', `uid=p0,ou=services,${base()}`);
    await identity('/CN=owner missing', ownerDn('nobody'));
    await identity('/CN=fraction', ownerDn('p0'), { cgCertNotAfter: '20300101000000.5Z' });
    await identity('/CN=offset', ownerDn('p0'), { cgCertNotAfter: '203001010100+0100' });
    await identity('/CN=bad time', ownerDn('p0'), { cgCertNotAfter: '2030010100.5Z' }); // valid syntax for slapd, a fraction of an hour for us
    await identity('/CN=type case', ownerDn('p0'), { cgIdentityType: 'X509' });
    await identity('/CN=bad type', ownerDn('p0'), { cgIdentityType: 'kerberos' });
    const oidcKey = identityKey({ type: 'oidc', issuer: 'https://iam.example.org/', subject: 'no-issuer' });
    keys.push(oidcKey);
    await add(`cgIdentityKey=${oidcKey},ou=identities,${base()}`, { objectClass: ['top', 'cgIdentity'], cgIdentityKey: oidcKey, cgIdentityType: 'oidc', cgOwner: ownerDn('p0'), cgOidcSubject: 'no-issuer', voPersonStatus: 'active' });

    await add(`cn=camp,ou=campaigns,${base()}`, {
      objectClass: ['top', 'posixGroup', 'cgCampaign'], cn: 'camp', gidNumber: '30001', memberUid: ['p0', 'p1', 'oddcase', 'ghost'],
      cgPrincipalInvestigator: ownerDn('p0'), cgCampaignState: 'open',
    });
    await add(`cn=camp2,ou=campaigns,${base()}`, {
      objectClass: ['top', 'posixGroup', 'cgCampaign'], cn: 'camp2', gidNumber: '30002', memberUid: ['p1', 'Not A Name'],
      cgPrincipalInvestigator: ownerDn('p1'), cgCampaignState: 'Closed',
    });
  });

  async function mapView() {
    const snapshot = await readDirectory(fx.agent, base(), 4);
    const identities = new Map<string, MapIdentity>();
    await snapshot.forEachIdentity((i) => void identities.set(i.key, i));
    return { accounts: snapshot.accounts, identities, problems: snapshot.problems };
  }

  it('reads every voPersonStatus value the same way: only active is active', async () => {
    const map = await mapView();
    for (const [i, [written, expected]] of STATUSES.entries()) {
      const portal = await dir.people.get(person(i));
      const account = map.accounts.get(person(i));
      expect(portal, `portal ${String(written)}`).to.not.equal(undefined);
      expect(portal!.status, `portal status of ${JSON.stringify(written)}`).to.equal(expected);
      expect(account, `map ${String(written)}`).to.not.equal(undefined);
      expect(account!.active, `map active for ${JSON.stringify(written)}`).to.equal(isActive(portal!.status));
      expect(account!.active).to.equal(expected === 'active');
    }
  });

  it('agrees on odd and malformed person entries', async () => {
    const map = await mapView();
    for (const username of ['oddcase', 'mismatch', 'nonumber', 'other']) {
      const portal = await dir.people.get(username);
      const account = map.accounts.get(username);
      expect(Boolean(portal), `${username}: portal ${JSON.stringify(portal)} map ${JSON.stringify(account)}`).to.equal(Boolean(account));
      if (portal && account) {
        expect([account.uidNumber, account.gidNumber, account.active]).to.deep.equal([portal.uidNumber, portal.gidNumber, isActive(portal.status)]);
      }
    }
    expect(map.accounts.get('oddcase')?.active).to.equal(true);
    expect(map.accounts.has('nonumber')).to.equal(false);
    expect(await dir.people.get('nonumber')).to.equal(undefined);
  });

  it('agrees on every identity: present or left out, owner, status, reference, expiry', async () => {
    const map = await mapView();
    const comparable = (i: Identity) => ({ key: i.key, owner: i.owner, status: i.status, ref: i.ref, certNotAfter: i.certNotAfter?.toISOString() });
    let present = 0;
    for (const key of keys) {
      const portal = await dir.identities.getByKey(key);
      const mapped = map.identities.get(key);
      expect(Boolean(portal), `${key}: portal ${JSON.stringify(portal)} map ${JSON.stringify(mapped)}`).to.equal(Boolean(mapped));
      if (portal && mapped) {
        present++;
        expect(comparable(mapped)).to.deep.equal(comparable(portal));
      }
    }
    expect(present).to.equal(STATUSES.length - 1 + 1 + 5); // every written status, revoked, owner odd case, owner missing (an orphan), fraction, offset, type case
    const all = [...map.identities.values()];
    expect(all.filter((i) => isActive(i.status)).map((i) => i.ref.type === 'x509' && i.ref.subject).sort()).to.deep.equal(
      ['/CN=fraction', '/CN=offset', '/CN=owner missing', '/CN=owner odd case', '/CN=type case', ...STATUSES.flatMap(([w, s], i) => (w !== undefined && s === 'active' ? [`/CN=status ${i}`] : []))].sort(),
    );
    expect(map.problems.join('\n')).to.match(/owner elsewhere|not a person entry/).and.match(/unreadable cgCertNotAfter "2030010100.5Z"/).and.match(/unknown cgIdentityType "kerberos"/).and.match(/without cgOidcIssuer/);
  });

  it('agrees on memberships: the campaigns each account is in', async () => {
    const map = await mapView();
    for (const username of ['p0', 'p1', 'oddcase', 'p2']) {
      const portal = (await dir.campaigns.ofMember(username)).map((c) => c.gidNumber).sort((a, b) => a - b);
      expect(map.accounts.get(username)?.campaignGids, username).to.deep.equal(portal);
    }
    expect((await dir.campaigns.get('camp'))!.members).to.deep.equal(['ghost', 'oddcase', 'p0', 'p1']);
    expect((await dir.campaigns.get('camp2'))!.members).to.deep.equal(['p1']); // 'Not A Name' cannot be a username
    expect((await dir.campaigns.get('camp2'))!.state).to.equal('closed');
  });
});
