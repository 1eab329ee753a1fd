import { expect } from 'chai';
import { decodeCampaign, decodeIdentity, decodeMembers, decodePerson, decodeRequest } from '../../../core/directory/decode.js';
import { DirectoryLayout } from '../../../core/directory/layout.js';

const layout = new DirectoryLayout('dc=example');
const attrs = (o: Record<string, string | string[]>) => new Map(Object.entries(o).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v : [v]]));
const KEY = 'a'.repeat(64);

describe('core/directory/decode', () => {
  it('decodes a person, and says why an entry is left out', () => {
    const p = decodePerson('uid=alice,ou=people,dc=example', attrs({ uid: 'alice', uidNumber: '10001', gidNumber: '100001', cgRole: 'ADMIN', voPersonStatus: 'Pending' }), layout);
    expect(p).to.deep.include({ username: 'alice', uidNumber: 10001, gidNumber: 100001, roles: ['admin'], status: 'pending', cn: '' });
    expect(decodePerson('uid=alice,ou=groups,dc=example', attrs({ uid: 'alice', uidNumber: '1', gidNumber: '1' }), layout)).to.match(/not a person entry/);
    expect(decodePerson('uid=alice,ou=people,dc=example', attrs({ uid: 'bob', uidNumber: '1', gidNumber: '1' }), layout)).to.match(/uid does not hold/);
    expect(decodePerson('uid=alice,ou=people,dc=example', attrs({ uid: 'alice', uidNumber: 'x', gidNumber: '1' }), layout)).to.match(/uidNumber/);
    expect(decodePerson('uid=alice,ou=people,dc=example', attrs({ uid: 'alice', uidNumber: '1' }), layout)).to.match(/gidNumber/);
  });

  it('decodes a service identity\'s role; a role it does not know leaves the entry out (fail closed)', () => {
    const base = { uid: 'rucio', uidNumber: '10002', gidNumber: '100002' };
    expect(decodePerson('uid=rucio,ou=people,dc=example', attrs({ ...base, cgServiceRole: 'Replication' }), layout)).to.deep.include({ serviceRole: 'replication' });
    expect(decodePerson('uid=rucio,ou=people,dc=example', attrs(base), layout)).to.not.have.property('serviceRole');
    expect(decodePerson('uid=rucio,ou=people,dc=example', attrs({ ...base, cgServiceRole: 'superuser' }), layout)).to.match(/unknown cgServiceRole/);
  });

  it('decodes identities of both types with their reference; the key falls back to the RDN', () => {
    const owner = 'uid=alice, ou=People, DC=example';
    const x = decodeIdentity(`cgIdentityKey=${KEY},ou=identities,dc=example`, attrs({ cgIdentityType: 'x509', cgOwner: owner, cgCertSubject: '/CN=A', voPersonStatus: 'revoked', cgCertNotAfter: '20300101000000Z' }), layout);
    expect(x).to.deep.include({ key: KEY, owner: 'alice', status: 'revoked', ref: { type: 'x509', subject: '/CN=A' } });
    expect((x as { certNotAfter: Date }).certNotAfter.toISOString()).to.equal('2030-01-01T00:00:00.000Z');
    const o = decodeIdentity('cn=x', attrs({ cgIdentityKey: KEY, cgIdentityType: 'OIDC', cgOwner: owner, cgOidcIssuer: 'https://op/', cgOidcSubject: 's' }), layout);
    expect(o).to.deep.include({ type: 'oidc', ref: { type: 'oidc', issuer: 'https://op/', subject: 's' }, status: 'active' });
    expect(decodeIdentity('cn=x', attrs({ cgIdentityType: 'x509' }), layout)).to.match(/no cgIdentityKey/);
    expect(decodeIdentity('cn=x', attrs({ cgIdentityKey: KEY, cgIdentityType: 'x509', cgOwner: 'cn=admin,dc=example', cgCertSubject: '/CN=A' }), layout)).to.match(/not a person entry/);
    expect(decodeIdentity('cn=x', attrs({ cgIdentityKey: KEY, cgIdentityType: 'x509', cgOwner: owner }), layout)).to.match(/without cgCertSubject/);
    expect(decodeIdentity('cn=x', attrs({ cgIdentityKey: KEY, cgIdentityType: 'x509', cgOwner: owner, cgCertSubject: '/CN=A', cgCertNotAfter: 'soon' }), layout)).to.match(/unreadable cgCertNotAfter/);
    expect(decodeIdentity('cn=x', attrs({ cgIdentityKey: KEY, cgIdentityType: 'saml', cgOwner: owner }), layout)).to.match(/unknown cgIdentityType/);
  });

  it('decodes campaigns and their memberships', () => {
    const c = decodeCampaign('cn=flare,ou=campaigns,dc=example', attrs({ cn: 'flare', gidNumber: '30001', memberUid: ['pat', 'al', 'Bad Name', 'al'], cgPrincipalInvestigator: 'uid=pat,ou=people,dc=example', cgCampaignState: 'CLOSED', cgEmbargoEnd: '20300101000000Z' }), layout);
    expect(c).to.deep.include({ name: 'flare', gidNumber: 30001, members: ['al', 'pat'], pi: 'pat', state: 'closed' });
    expect(decodeMembers(attrs({}))).to.deep.equal([]);
    expect(decodeCampaign('cn=x', attrs({ gidNumber: '1' }), layout)).to.match(/without cn/);
    expect(decodeCampaign('cn=x', attrs({ cn: 'x' }), layout)).to.match(/gidNumber/);
    expect(decodeCampaign('cn=x', attrs({ cn: 'x', gidNumber: '1', cgEmbargoEnd: 'never' }), layout)).to.match(/unreadable cgEmbargoEnd/);
  });

  it('decodes the proprietary period (rolling release) strictly: whole days 1-36500, else the campaign is unreadable', () => {
    const base = { cn: 'x', gidNumber: '1', cgPrincipalInvestigator: 'uid=pat,ou=people,dc=example', cgCampaignState: 'open' };
    expect(decodeCampaign('cn=x', attrs({ ...base, cgProprietaryPeriod: '365' }), layout)).to.deep.include({ proprietaryDays: 365 });
    expect(decodeCampaign('cn=x', attrs(base), layout)).to.not.have.property('proprietaryDays');
    for (const bad of ['0', '-1', '+5', '1.5', 'P365D', '036', '36501', ' 5', '']) {
      expect(decodeCampaign('cn=x', attrs({ ...base, cgProprietaryPeriod: bad }), layout), bad).to.match(/unreadable cgProprietaryPeriod/);
    }
  });

  it('decodes membership requests and refuses unknown states', () => {
    const r = decodeRequest('cgRequestId=1,ou=requests,dc=example', attrs({ cgRequestId: '1', cgCampaign: 'cn=flare,ou=campaigns,dc=example', cgRequester: 'uid=al,ou=people,dc=example', cgRequestState: 'Approved', cgDecidedBy: 'uid=pat,ou=people,dc=example', createTimestamp: '20260101000000Z' }), layout);
    expect(r).to.deep.include({ id: '1', campaign: 'flare', requester: 'al', state: 'approved', decidedBy: 'pat' });
    expect(decodeRequest('x', attrs({ cgRequestId: '1', cgRequestState: 'maybe' }), layout)).to.match(/unknown cgRequestState/);
    expect(decodeRequest('x', attrs({ cgRequestState: 'pending' }), layout)).to.match(/without cgRequestId/);
    expect(decodeRequest('x', attrs({ cgRequestId: '1', createTimestamp: 'x' }), layout)).to.match(/GeneralizedTime/);
  });
});
