import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { randomPassword, sshaHash } from '../../../core/ldap/ssha.js';

describe('core/ldap/ssha', () => {
  it('writes {SSHA} = sha1(password + salt) + salt, salted afresh each time', () => {
    const h = sshaHash('secret');
    expect(h).to.match(/^\{SSHA\}/);
    const raw = Buffer.from(h.slice(6), 'base64');
    const salt = raw.subarray(20);
    expect(raw.subarray(0, 20).equals(createHash('sha1').update('secret').update(salt).digest())).to.equal(true);
    expect(sshaHash('secret')).to.not.equal(h);
  });

  it('makes 32-character URL-safe random passwords', () => {
    const p = randomPassword();
    expect(p).to.match(/^[A-Za-z0-9_-]{32}$/);
    expect(randomPassword()).to.not.equal(p);
  });
});
