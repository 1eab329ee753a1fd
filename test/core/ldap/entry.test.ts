import { expect } from 'chai';
import { LdapEntry } from '../../../core/ldap/entry.js';

describe('core/ldap/entry', () => {
  it('reads attributes case-insensitively, as strings, with absent ones empty', () => {
    const e = new LdapEntry('uid=a,dc=x', { dn: 'ignored', UID: 'a', uidNumber: ['10', '11'], photo: Buffer.from('hé'), empty: [], n: 5 });
    expect(e.get('uid')).to.equal('a');
    expect(e.getAll('UIDNUMBER')).to.deep.equal(['10', '11']);
    expect(e.getInt('uidNumber')).to.equal(10);
    expect(e.get('photo')).to.equal('hé');
    expect(e.has('empty')).to.equal(false);
    expect(e.getAll('missing')).to.deep.equal([]);
    expect(e.get('n')).to.equal('5');
    expect(e.has('dn')).to.equal(false);
    expect([...e.attributes.keys()].sort()).to.deep.equal(['n', 'photo', 'uid', 'uidnumber']);
    expect(new LdapEntry('x', { uidNumber: '1x' }).getInt('uidNumber')).to.equal(undefined);
  });
});
