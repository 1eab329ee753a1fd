import { expect } from 'chai';
import { ValidationError } from '../../../core/errors.js';
import { checkIdentityRef, describeIdentity, identityRef } from '../../../core/directory/identity-ref.js';
import type { Identity } from '../../../core/directory/model.js';

describe('core/directory/identity-ref', () => {
  it('builds the reference from an input, a reference or a bound identity', () => {
    expect(identityRef({ type: 'x509', subject: '/CN=A', issuer: '/CN=CA', notAfter: new Date() })).to.deep.equal({ type: 'x509', subject: '/CN=A' });
    expect(identityRef({ type: 'oidc', issuer: 'https://op/', subject: 's' })).to.deep.equal({ type: 'oidc', issuer: 'https://op/', subject: 's' });
    const bound = { ref: { type: 'x509', subject: '/CN=B' }, type: 'x509', certSubject: '/CN=B' } as Identity;
    expect(identityRef(bound)).to.deep.equal({ type: 'x509', subject: '/CN=B' });
  });

  it('validates references and describes them', () => {
    expect(checkIdentityRef({ type: 'x509', subject: '/CN=A', issuer: '/CN=CA' })).to.deep.equal({ type: 'x509', subject: '/CN=A' });
    expect(() => checkIdentityRef({ type: 'x509', subject: 'CN=A' })).to.throw(ValidationError);
    expect(() => checkIdentityRef({ type: 'oidc', issuer: 'ftp://x/', subject: 's' })).to.throw(ValidationError);
    expect(() => checkIdentityRef({ type: 'saml' } as never)).to.throw(ValidationError, /unknown identity type/);
    expect(describeIdentity({ type: 'oidc', issuer: 'https://op/', subject: 's' })).to.equal('OIDC subject s at https://op/');
    expect(describeIdentity({ type: 'x509', subject: '/CN=A' })).to.equal('certificate subject /CN=A');
  });
});
