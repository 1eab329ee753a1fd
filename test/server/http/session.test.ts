import { expect } from 'chai';
import { loadIdentity, storeIdentity } from '../../../server/http/session.js';

describe('server/http/session', () => {
  it('stores identities as JSON-safe values and loads them back unchanged', () => {
    const x509 = { input: { type: 'x509' as const, subject: '/CN=A', issuer: '/CN=CA', notAfter: new Date('2030-01-01T00:00:00Z') }, label: '/CN=A' };
    const stored = storeIdentity(x509);
    expect(JSON.parse(JSON.stringify(stored))).to.deep.equal(stored);
    expect(stored.input).to.deep.equal({ type: 'x509', subject: '/CN=A', issuer: '/CN=CA', notAfter: '2030-01-01T00:00:00.000Z' });
    expect(loadIdentity(stored)).to.deep.equal(x509.input);
    const oidc = { input: { type: 'oidc' as const, issuer: 'https://op/', subject: 's' }, label: 's at https://op/', claims: { email: 'a@b.c' } };
    expect(storeIdentity(oidc)).to.deep.equal(oidc);
    expect(loadIdentity(storeIdentity(oidc))).to.deep.equal(oidc.input);
    expect(loadIdentity(storeIdentity({ input: { type: 'x509', subject: '/CN=B' }, label: 'b' }))).to.deep.equal({ type: 'x509', subject: '/CN=B' });
  });
});
