/**
 * OpenID Connect login for the portal (relying party), with openid-client: discovery, the
 * authorization code flow with PKCE (S256), state and nonce, for any number of configured
 * providers (INDIGO IAM, Keycloak, ...). The identity is the ID token's issuer and subject.
 * Plain-HTTP issuers are accepted only on loopback addresses (test and demo providers).
 */
import * as client from 'openid-client';
import { NotFoundError, OpenIdProviderUnavailableError, ValidationError } from '../../core/errors.js';
import type { OidcProviderConfig } from '../config.js';
import type { LoginIdentity, OidcLogin, OidcPending, OidcProviderInfo } from '../http/seams.js';
import { providerUnavailable } from './provider-errors.js';

/** The OpenID provider or its answer refused the login (not: the provider is down). */
export class OidcError extends ValidationError {
  static override code = 'ERR_OIDC_LOGIN';
  override readonly code = 'ERR_OIDC_LOGIN';
}

export function isLoopbackHttp(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

export class OpenIdConnectLogin implements OidcLogin {
  private readonly configs = new Map<string, Promise<client.Configuration>>();

  constructor(private readonly providersConfig: OidcProviderConfig[]) {}

  providers(): OidcProviderInfo[] {
    return this.providersConfig.map((p) => ({ id: p.id, name: p.name }));
  }

  provider(id: string): OidcProviderConfig {
    const p = this.providersConfig.find((x) => x.id === id);
    if (!p) throw new NotFoundError(`no OpenID provider ${id} is configured`);
    return p;
  }

  /** Discovery, cached per provider; a failure is not cached, so the next login retries. */
  configuration(id: string): Promise<client.Configuration> {
    let c = this.configs.get(id);
    if (!c) {
      const p = this.provider(id);
      const insecure = isLoopbackHttp(p.issuer);
      c = client
        .discovery(new URL(p.issuer), p.clientId, p.clientSecret, undefined, { ...(insecure ? { execute: [client.allowInsecureRequests] } : {}), timeout: 10 })
        .catch((err: Error) => {
          this.configs.delete(id);
          throw providerUnavailable(err, p, 'discovery') ??
            new OpenIdProviderUnavailableError(`the OpenID provider ${p.name} (${p.issuer}) gave no usable discovery document: ${err.message}`, { cause: err });
        });
      this.configs.set(id, c);
    }
    return c;
  }

  async start(id: string, redirectUri: string): Promise<{ url: string; pending: OidcPending }> {
    const config = await this.configuration(id);
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri, scope: this.provider(id).scopes, state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
    });
    return { url: url.href, pending: { codeVerifier, state, nonce } };
  }

  async finish(id: string, redirectUri: string, callbackUrl: URL, pending: OidcPending): Promise<LoginIdentity> {
    const config = await this.configuration(id);
    const error = callbackUrl.searchParams.get('error');
    if (error) throw new OidcError(`the identity provider refused the login: ${error} ${callbackUrl.searchParams.get('error_description') ?? ''}`.trim());
    let tokens;
    try {
      tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.codeVerifier!, expectedState: pending.state!, expectedNonce: pending.nonce!, idTokenExpected: true,
      }, { redirect_uri: redirectUri });
    } catch (err) {
      throw providerUnavailable(err, this.provider(id), 'token request') ?? new OidcError(`the login could not be completed: ${(err as Error).message}`, { cause: err });
    }
    const claims = tokens.claims();
    if (!claims?.sub || !claims.iss) throw new OidcError('the identity provider returned no subject');
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return {
      input: { type: 'oidc', issuer: claims.iss, subject: claims.sub },
      label: `${claims.sub} at ${claims.iss}`,
      claims: {
        ...(str(claims.email) ? { email: str(claims.email)! } : {}),
        ...(str(claims.name) ? { name: str(claims.name)! } : {}),
        ...(str(claims.preferred_username) ? { preferredUsername: str(claims.preferred_username)! } : {}),
      },
    };
  }
}
