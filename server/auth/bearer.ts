/**
 * Bearer access tokens for the JSON API, verified with jose against the configured providers'
 * JWKS: the issuer must be configured, the signature valid (asymmetric algorithms only, never
 * "none" or HMAC), the audience the portal's, the token within its validity period, the API's
 * scope granted (a token meant only for logging in, `openid`, changes nothing here), and, when
 * configured, the client one of the allowed ones. Admin operations check the admin scope on top.
 */
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { ForbiddenError } from '../../core/errors.js';
import { providerUnavailable } from './provider-errors.js';
import type { OidcProviderConfig } from '../config.js';
import type { BearerVerifier, VerifiedToken } from '../http/seams.js';
import type { OpenIdConnectLogin } from './oidc.js';

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export class JwtBearerVerifier implements BearerVerifier {
  private readonly keys = new Map<string, JWTVerifyGetKey>();

  constructor(
    private readonly providers: OidcProviderConfig[],
    private readonly oidc: OpenIdConnectLogin,
    private readonly audience: string,
    private readonly required: { scope: string; clients?: string[] } = { scope: 'campaign-guard' },
  ) {}

  async verify(token: string): Promise<VerifiedToken> {
    let iss: string | undefined;
    try {
      iss = decodeJwt(token).iss;
    } catch (err) {
      throw new ForbiddenError('the access token is not a JWT', { cause: err });
    }
    const provider = this.providers.find((p) => p.issuer === iss || p.issuer.replace(/\/$/, '') === iss?.replace(/\/$/, ''));
    if (!provider) throw new ForbiddenError('the access token comes from an issuer this portal does not trust');
    const keys = await this.jwks(provider);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, keys, { issuer: iss, audience: this.audience, algorithms: ALGORITHMS, clockTolerance: 30 }));
    } catch (err) {
      throw providerUnavailable(err, provider, 'fetching its JWKS') ?? new ForbiddenError(`the access token is not acceptable: ${(err as Error).message}`, { cause: err });
    }
    if (!payload.sub) throw new ForbiddenError('the access token is not acceptable: it has no sub');
    const scopes = tokenScopes(payload);
    if (!scopes.includes(this.required.scope)) throw new ForbiddenError(`the access token lacks the scope ${this.required.scope} (it has: ${scopes.join(' ') || 'none'}); ask for it when you get the token`);
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : typeof payload.azp === 'string' ? payload.azp : undefined;
    if (this.required.clients?.length && (!clientId || !this.required.clients.includes(clientId))) {
      throw new ForbiddenError(`the access token was issued to ${clientId ? `client ${clientId}` : 'an unnamed client'}, which this portal does not accept`);
    }
    return { issuer: payload.iss!, subject: payload.sub, scopes, ...(clientId ? { clientId } : {}) };
  }

  private async jwks(provider: OidcProviderConfig): Promise<JWTVerifyGetKey> {
    let k = this.keys.get(provider.id);
    if (!k) {
      const meta = (await this.oidc.configuration(provider.id)).serverMetadata();
      if (!meta.jwks_uri) throw new ForbiddenError(`${provider.name} publishes no JWKS`);
      k = createRemoteJWKSet(new URL(meta.jwks_uri));
      this.keys.set(provider.id, k);
    }
    return k;
  }
}

/** Granted scopes: `scope` as a space-separated string (RFC 9068), or `scp` as a list or string (Keycloak, Entra ID). */
export function tokenScopes(payload: Record<string, unknown>): string[] {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === 'string') return raw.split(' ').filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === 'string');
  return [];
}
