import { expect } from 'chai';
import { OpenIdProviderUnavailableError } from '../../../core/errors.js';
import { isProviderUnreachable, providerUnavailable } from '../../../server/auth/provider-errors.js';

describe('server/auth/provider-errors', () => {
  const provider = { name: 'IAM', issuer: 'https://iam.example.org/' };

  it('tells a provider that is down from one that said no', () => {
    const reset = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    for (const down of [reset, Object.assign(new Error('operation timed out'), { code: 'OAUTH_TIMEOUT' }), Object.assign(new Error('t'), { code: 'ERR_JWKS_TIMEOUT' }),
      Object.assign(new Error('unexpected HTTP response status code'), { code: 'OAUTH_RESPONSE_IS_NOT_CONFORM', cause: { status: 502 } }),
      new Error('Expected 200 OK from the JSON Web Key Set HTTP response'), Object.assign(new Error('x'), { name: 'TimeoutError' })]) {
      expect(isProviderUnreachable(down), down.message).to.equal(true);
    }
    for (const refusal of [new Error('invalid_grant'), Object.assign(new Error('x'), { code: 'OAUTH_RESPONSE_IS_NOT_CONFORM', cause: { status: 400 } }),
      Object.assign(new Error('x'), { code: 'ERR_JWT_EXPIRED' }), undefined]) {
      expect(isProviderUnreachable(refusal)).to.equal(false);
    }
  });

  it('names the provider and keeps the cause', () => {
    const cause = new TypeError('fetch failed');
    const e = providerUnavailable(cause, provider, 'discovery')!;
    expect(e).to.be.instanceOf(OpenIdProviderUnavailableError);
    expect(e.message).to.include('IAM').and.include('https://iam.example.org/').and.include('discovery');
    expect(e.cause).to.equal(cause);
    expect(e.dependency).to.equal('openid-provider');
    expect(providerUnavailable(e, provider, 'again')).to.equal(e);
    expect(providerUnavailable(new Error('invalid_grant'), provider, 'x')).to.equal(undefined);
  });
});
