import { expect } from 'chai';
import { decodePerson } from '../../../core/directory/decode.js';
import { decodeAll, decodeOne } from '../../../core/directory/decoded.js';
import { DirectoryLayout } from '../../../core/directory/layout.js';
import { LdapEntry } from '../../../core/ldap/entry.js';

describe('core/directory/decoded', () => {
  const layout = new DirectoryLayout('dc=x');
  const good = new LdapEntry('uid=a,ou=people,dc=x', { uid: 'a', uidNumber: '1', gidNumber: '2' });
  const bad = new LdapEntry('uid=b,ou=people,dc=x', { uid: 'b', uidNumber: 'one' });

  it('keeps entries that decode and leaves out the rest', () => {
    expect(decodeOne(good, decodePerson, layout)?.username).to.equal('a');
    expect(decodeOne(bad, decodePerson, layout)).to.equal(undefined);
    expect(decodeOne(undefined, decodePerson, layout)).to.equal(undefined);
    expect(decodeAll([bad, good, bad], decodePerson, layout).map((p) => p.username)).to.deep.equal(['a']);
  });
});
