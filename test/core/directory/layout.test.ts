import { expect } from 'chai';
import fc from 'fast-check';
import { DirectoryLayout, identityKey, normaliseDn, personUsernameOf } from '../../../core/directory/layout.js';

describe('core/directory/layout', () => {
  const layout = new DirectoryLayout('dc=campaign-guard,dc=example');

  it('places every kind of entry under its ou, escaping names', () => {
    expect(layout.personDn('alice')).to.equal('uid=alice,ou=people,dc=campaign-guard,dc=example');
    expect(layout.campaignDn('a,b')).to.equal('cn=a\\,b,ou=campaigns,dc=campaign-guard,dc=example');
    expect(layout.counterDn('gid')).to.equal('cn=gidNumber,ou=allocation,dc=campaign-guard,dc=example');
    expect(layout.usernameOf('uid=alice,ou=people,dc=x')).to.equal('alice');
    expect(layout.usernameOf('cn=weird')).to.equal('cn=weird');
    expect(layout.campaignNameOf(layout.campaignDn('a+b'))).to.equal('a+b');
  });

  it('recognises person DNs of this directory in any case and spacing, and nothing else', () => {
    expect(personUsernameOf('uid=alice,ou=people,dc=campaign-guard,dc=example', layout)).to.equal('alice');
    expect(personUsernameOf('UID = Alice , OU=People, DC=Campaign-Guard,DC=Example', layout)).to.equal('alice');
    expect(personUsernameOf('uid=alice,ou=people,dc=other', layout)).to.equal(undefined);
    expect(personUsernameOf('uid=alice,ou=services,dc=campaign-guard,dc=example', layout)).to.equal(undefined);
    expect(personUsernameOf('uid=a\\2cb,ou=people,dc=campaign-guard,dc=example', layout)).to.equal(undefined);
    expect(personUsernameOf('', layout)).to.equal(undefined);
    expect(normaliseDn('CN = X , DC=Y')).to.equal('cn=x,dc=y');
  });

  it('gives the same answer on its fast path as the general rule (property)', () => {
    const general = (dn: string) => {
      const m = /^uid\s*=\s*([a-z][a-z0-9._-]{0,31})\s*,/i.exec(dn);
      return m && normaliseDn(dn.slice(m[0].length).trimStart()) === normaliseDn(layout.people) ? m[1]!.toLowerCase() : undefined;
    };
    const name = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9._-]{0,33}$/), fc.string({ maxLength: 36 }));
    const suffix = fc.constantFrom(layout.people, layout.people.toUpperCase(), ` ${layout.people}`, 'ou=people,dc=other', `${layout.people},dc=x`, '');
    fc.assert(fc.property(name, suffix, fc.constantFrom('uid=', 'UID=', 'uid = '), (n, rest, prefix) => {
      const dn = `${prefix}${n},${rest}`;
      expect(personUsernameOf(dn, layout), dn).to.equal(general(dn));
    }), { seed: 19, numRuns: 1000 });
  });

  it('keys identities by the documented material', () => {
    expect(identityKey({ type: 'x509', subject: '/CN=A' })).to.match(/^[0-9a-f]{64}$/);
    expect(identityKey({ type: 'oidc', issuer: 'https://a/', subject: 's' })).to.not.equal(identityKey({ type: 'oidc', issuer: 'https://b/', subject: 's' }));
  });
});
