import { expect } from 'chai';
import * as client from 'openid-client';
import { SignJWT, generateKeyPair } from 'jose';
import { ForbiddenError, OpenIdProviderUnavailableError } from '../../../core/errors.js';
import { JwtBearerVerifier } from '../../../server/auth/bearer.js';
import { OidcError, OpenIdConnectLogin } from '../../../server/auth/oidc.js';
import { followLogin, startTestOp, TEST_AUDIENCE, TEST_CLIENT, type TestOp } from '../../support/openid-provider.js';

const REDIRECT = 'http://127.0.0.1:1/login/oidc/test/callback';

describe('server/auth/oidc and bearer (real OpenID Provider on loopback)', function () {
  this.timeout(30000);
  let op: TestOp;
  let login: OpenIdConnectLogin;
  let providers: ConstructorParameters<typeof OpenIdConnectLogin>[0];

  before(async () => {
    op = await startTestOp([REDIRECT]);
    op.accounts.set('alice-sub', { sub: 'alice-sub', email: 'alice@example.org', name: 'Alice', preferred_username: 'alice' });
    op.accounts.set('user@home.org@x', { sub: 'user@home.org@x' });
    op.accounts.set('jürgen-ü', { sub: 'jürgen-ü' });
    providers = [{ id: 'test', name: 'Test IAM', issuer: op.issuer, clientId: TEST_CLIENT.id, clientSecret: TEST_CLIENT.secret, scopes: 'openid profile email' }];
    login = new OpenIdConnectLogin(providers);
  });
  after(() => op.close());

  async function codeFlow(sub: string) {
    op.nextLogin = sub;
    const { url, pending } = await login.start('test', REDIRECT);
    expect(new URL(url).searchParams.get('code_challenge_method')).to.equal('S256');
    const callback = await followLogin(url, REDIRECT);
    return { callback, pending };
  }

  it('runs the authorization code flow with PKCE and returns issuer, subject and claims', async () => {
    const { callback, pending } = await codeFlow('alice-sub');
    const id = await login.finish('test', REDIRECT, callback, pending);
    expect(id.input).to.deep.equal({ type: 'oidc', issuer: op.issuer, subject: 'alice-sub' });
    expect(id.claims).to.deep.equal({ email: 'alice@example.org', name: 'Alice', preferredUsername: 'alice' });
  });

  it('keeps hostile subjects exactly (an @ inside, non-ASCII)', async () => {
    for (const sub of ['user@home.org@x', 'jürgen-ü']) {
      const { callback, pending } = await codeFlow(sub);
      expect((await login.finish('test', REDIRECT, callback, pending)).input).to.deep.include({ subject: sub });
    }
  });

  it('refuses a wrong state, a replayed code and a refused login', async () => {
    const { callback, pending } = await codeFlow('alice-sub');
    const err = await login.finish('test', REDIRECT, callback, { ...pending, state: 'forged' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(OidcError);
    const ok = await codeFlow('alice-sub');
    await login.finish('test', REDIRECT, ok.callback, ok.pending);
    expect(await login.finish('test', REDIRECT, ok.callback, ok.pending).catch((e: unknown) => e), 'replayed code').to.be.instanceOf(OidcError);
    const denied = await codeFlow('nobody');
    expect(await login.finish('test', REDIRECT, denied.callback, denied.pending).catch((e: unknown) => e)).to.be.instanceOf(OidcError).with.property('message').that.matches(/access_denied/);
  });

  it('says clearly when the provider cannot be reached', async () => {
    const down = new OpenIdConnectLogin([{ ...providers[0]!, issuer: 'http://127.0.0.1:9/' }]);
    const err = await down.start('test', REDIRECT).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Error).with.property('message').that.matches(/cannot be reached/);
  });

  describe('bearer tokens', () => {
    let verifier: JwtBearerVerifier;
    let accessToken: string;
    /** A token for alice asking for these scopes (the test OP grants what its resource server defines). */
    const tokenWith = async (scopes: string) => {
      const asking = new OpenIdConnectLogin([{ ...providers[0]!, scopes }]);
      op.nextLogin = 'alice-sub';
      const { url, pending } = await asking.start('test', REDIRECT);
      const callback = await followLogin(url, REDIRECT);
      return (await client.authorizationCodeGrant(await asking.configuration('test'), callback, { pkceCodeVerifier: pending.codeVerifier!, expectedState: pending.state!, expectedNonce: pending.nonce! })).access_token;
    };
    before(async () => {
      verifier = new JwtBearerVerifier(providers, login, TEST_AUDIENCE);
      accessToken = await tokenWith('openid campaign-guard');
    });

    it('accepts a JWT access token from the provider for the portal audience with the API scope', async () => {
      expect(await verifier.verify(accessToken)).to.deep.include({ issuer: op.issuer, subject: 'alice-sub', clientId: TEST_CLIENT.id });
      expect((await verifier.verify(accessToken)).scopes).to.include('campaign-guard');
    });

    it('refuses a token without the API scope, naming the scope; and tokens of clients not allowed', async () => {
      const loginOnly = await tokenWith('openid profile');
      const err = await verifier.verify(loginOnly).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ForbiddenError).with.property('message').that.matches(/lacks the scope campaign-guard \(it has: openid profile\)/);
      const strict = new JwtBearerVerifier(providers, login, TEST_AUDIENCE, { scope: 'campaign-guard', clients: ['the-web-site'] });
      expect(await strict.verify(accessToken).catch((e: unknown) => e)).to.be.instanceOf(ForbiddenError).with.property('message').that.matches(/issued to client .* which this portal does not accept/);
    });

    it('refuses wrong audience, unknown issuer, tampered signature, alg none, expired and non-JWT tokens', async () => {
      const other = new JwtBearerVerifier(providers, login, 'someone-else');
      const refused = async (v: JwtBearerVerifier, t: string, re: RegExp) => {
        const err = await v.verify(t).catch((e: unknown) => e);
        expect(err, t.slice(0, 30)).to.be.instanceOf(ForbiddenError).with.property('message').that.matches(re);
      };
      await refused(other, accessToken, /aud/);
      const [h, p, s] = accessToken.split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      const forged = Buffer.from(JSON.stringify({ ...payload, sub: 'root' })).toString('base64url');
      await refused(verifier, `${h}.${forged}.${s}`, /signature/);
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
      await refused(verifier, none, /not acceptable/);
      const { privateKey } = await generateKeyPair('RS256');
      const rogue = await new SignJWT({ sub: 'alice-sub' }).setProtectedHeader({ alg: 'RS256' }).setIssuer('https://rogue.example.org').setAudience(TEST_AUDIENCE).setExpirationTime('1h').sign(privateKey);
      await refused(verifier, rogue, /does not trust/);
      const selfSigned = await new SignJWT({ sub: 'alice-sub' }).setProtectedHeader({ alg: 'RS256' }).setIssuer(op.issuer).setAudience(TEST_AUDIENCE).setIssuedAt(1).setExpirationTime(2).sign(privateKey);
      await refused(verifier, selfSigned, /not acceptable/);
      await refused(verifier, 'not-a-token', /not a JWT/);
    });

    it('keeps the cause of a refusal, and names an unreachable provider as itself', async () => {
      const [h, p, sig] = accessToken.split('.') as [string, string, string];
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()) as object, sub: 'root' })).toString('base64url')}.${sig}`;
      const err = await verifier.verify(forged).catch((e: unknown) => e) as ForbiddenError;
      expect(err).to.be.instanceOf(ForbiddenError);
      expect((err.cause as { code?: string }).code).to.equal('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      expect((await verifier.verify('not-a-token').catch((e: unknown) => e) as Error).cause).to.be.instanceOf(Error);
      const down = [{ ...providers[0]!, issuer: 'http://127.0.0.1:9/' }];
      const { privateKey } = await generateKeyPair('ES256');
      const token = await new SignJWT({ sub: 's' }).setProtectedHeader({ alg: 'ES256' }).setIssuer('http://127.0.0.1:9/').setAudience(TEST_AUDIENCE).setExpirationTime('1h').sign(privateKey);
      const unreachable = await new JwtBearerVerifier(down, new OpenIdConnectLogin(down), TEST_AUDIENCE).verify(token).catch((e: unknown) => e);
      expect(unreachable).to.be.instanceOf(OpenIdProviderUnavailableError).with.property('message').that.matches(/OpenID provider Test IAM/);
      expect((unreachable as Error).cause).to.be.instanceOf(Error);
    });
  });
});
