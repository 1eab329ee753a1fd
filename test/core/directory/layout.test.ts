import { expect } from 'chai';
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

  it('keys identities by the documented material', () => {
    expect(identityKey({ type: 'x509', subject: '/CN=A' })).to.match(/^[0-9a-f]{64}$/);
    expect(identityKey({ type: 'oidc', issuer: 'https://a/', subject: 's' })).to.not.equal(identityKey({ type: 'oidc', issuer: 'https://b/', subject: 's' }));
  });
});
