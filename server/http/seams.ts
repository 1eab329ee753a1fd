/**
 * The portal's authentication seams: how a request proves an identity. Implementations live in
 * server/auth/ (certificate chains, OpenID Connect, bearer tokens); the HTTP layer only sees these.
 */
import type { Request } from 'express';
import type { IdentityInput } from '../../core/directory/index.js';

export interface LoginIdentity {
  input: IdentityInput;
  /** How the identity reads in pages and the audit trail: grid DN, or "sub at issuer". */
  label: string;
  /** Optional facts from the identity provider, used to prefill registration. */
  claims?: { email?: string; name?: string; preferredUsername?: string };
}

export interface CertificateLogin {
  /**
   * The verified end-entity identity of the client certificate on this request (TLS, or a trusted
   * reverse proxy's header). Throws a ValidationError/ForbiddenError whose message a person can read.
   */
  identify(req: Request): Promise<LoginIdentity & { input: Extract<IdentityInput, { type: 'x509' }> }>;
}

export interface OidcProviderInfo {
  id: string;
  name: string;
}

/** Values kept in the session between redirect and callback (state, nonce, PKCE verifier). */
export type OidcPending = Record<string, string>;

export interface OidcLogin {
  providers(): OidcProviderInfo[];
  start(providerId: string, redirectUri: string): Promise<{ url: string; pending: OidcPending }>;
  finish(providerId: string, redirectUri: string, callbackUrl: URL, pending: OidcPending): Promise<LoginIdentity>;
}

export interface VerifiedToken {
  issuer: string;
  subject: string;
  scopes: string[];
  clientId?: string;
}

export interface BearerVerifier {
  /** A verified access token's issuer, subject and scopes; throws ForbiddenError when it is not acceptable (naming a missing scope). */
  verify(token: string): Promise<VerifiedToken>;
}
