/** What the portal keeps in a session. Only JSON-safe values: the store serialises them. */
import type { IdentityInput } from '../../core/directory/index.js';
import type { LoginIdentity, OidcPending } from './seams.js';

export interface StoredIdentity {
  input:
    | { type: 'x509'; subject: string; issuer?: string; /** ISO 8601 */ notAfter?: string }
    | { type: 'oidc'; issuer: string; subject: string };
  label: string;
  claims?: LoginIdentity['claims'];
}

declare module 'express-session' {
  interface SessionData {
    /** The logged-in account. */
    username?: string;
    /** The identity this session logged in with (audit: actorIdentity). */
    loginLabel?: string;
    /** An identity that logged in but has no account yet (registration). */
    pending?: StoredIdentity;
    /** The pending identity is staff of the home institute: the account is created once the policy is accepted. */
    staffPending?: boolean;
    /** A certificate presented while logged in, waiting for "bind this certificate". */
    presented?: StoredIdentity;
    oidc?: { provider: string; pending: OidcPending; bind: boolean };
    flash?: { kind: 'info' | 'error'; text: string }[];
    /** What a form held when its CSRF token had expired (server/http/drafts.ts). */
    draft?: import('./drafts.js').Draft;
  }
}

export function storeIdentity(id: LoginIdentity): StoredIdentity {
  const { input } = id;
  const stored: StoredIdentity['input'] =
    input.type === 'x509'
      ? { type: 'x509', subject: input.subject, ...(input.issuer ? { issuer: input.issuer } : {}), ...(input.notAfter ? { notAfter: input.notAfter.toISOString() } : {}) }
      : { type: 'oidc', issuer: input.issuer, subject: input.subject };
  return { input: stored, label: id.label, ...(id.claims ? { claims: id.claims } : {}) };
}

export function loadIdentity(stored: StoredIdentity): IdentityInput {
  const { input } = stored;
  if (input.type === 'oidc') return input;
  const { notAfter, ...rest } = input;
  return { ...rest, ...(notAfter ? { notAfter: new Date(notAfter) } : {}) };
}
