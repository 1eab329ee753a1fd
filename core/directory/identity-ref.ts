/**
 * The one builder of identity references: what names an identity (type, subject, and the issuer
 * for OIDC), from a login's input, a bound identity, or a reference; with or without validation.
 */
import { ValidationError } from '../errors.js';
import type { Identity, IdentityInput, IdentityRef } from './model.js';
import { checkCertSubject, checkOidcIssuer, checkOidcSubject } from './validate.js';

/** The reference of an input or identity: only the fields the key is made of. */
export function identityRef(from: IdentityInput | IdentityRef | Identity): IdentityRef {
  if ('ref' in from) return from.ref;
  if (from.type === 'x509') return { type: 'x509', subject: from.subject };
  return { type: 'oidc', issuer: from.issuer, subject: from.subject };
}

/** Validate and reduce an input to its reference. */
export function checkIdentityRef(from: IdentityInput | IdentityRef): IdentityRef {
  if (from.type === 'x509') return { type: 'x509', subject: checkCertSubject('certificate subject', from.subject) };
  if (from.type === 'oidc') return { type: 'oidc', issuer: checkOidcIssuer(from.issuer), subject: checkOidcSubject(from.subject) };
  throw new ValidationError(`unknown identity type ${JSON.stringify((from as { type: unknown }).type)}`);
}

/** How an identity reads in messages and the audit trail. */
export function describeIdentity(ref: IdentityRef): string {
  return ref.type === 'x509' ? `certificate subject ${ref.subject}` : `OIDC subject ${ref.subject} at ${ref.issuer}`;
}
