/**
 * Translation of ldapts errors into the project's typed errors. The original error stays
 * attached as `cause`; ldapResultCode() digs the LDAP result code back out when a caller must
 * tell apart, say, a lost compare-and-swap (noSuchAttribute) from another conflict.
 */
import { ResultCodeError } from 'ldapts';
import {
  CampaignGuardError,
  ConflictError,
  DirectoryUnavailableError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../errors.js';

/** LDAP result codes we branch on (RFC 4511 appendix A). */
export const LdapResult = {
  operationsError: 1,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  strongerAuthRequired: 8,
  adminLimitExceeded: 11,
  noSuchAttribute: 16,
  undefinedAttributeType: 17,
  constraintViolation: 19,
  attributeOrValueExists: 20,
  invalidAttributeSyntax: 21,
  noSuchObject: 32,
  invalidDNSyntax: 34,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  namingViolation: 64,
  objectClassViolation: 65,
  notAllowedOnNonLeaf: 66,
  notAllowedOnRDN: 67,
  entryAlreadyExists: 68,
  other: 80,
} as const;

/** The LDAP result code behind an error (ldapts error or our translation of it), if any. */
export function ldapResultCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ResultCodeError) return e.code;
  }
  return undefined;
}

/**
 * Map any error thrown by an LDAP operation to a CampaignGuardError. `what` says what we were
 * doing ("add uid=alice,ou=people,..."), for the message. Our own errors pass through unchanged.
 */
export function translateLdapError(err: unknown, what: string): CampaignGuardError {
  if (err instanceof CampaignGuardError) return err;
  if (!(err instanceof ResultCodeError)) {
    const msg = err instanceof Error ? err.message : String(err);
    return new DirectoryUnavailableError(`directory unavailable during ${what}: ${msg}`, { cause: err });
  }
  const detail = `${what}: LDAP ${err.code} ${err.message}`;
  switch (err.code) {
    case LdapResult.entryAlreadyExists:
    case LdapResult.attributeOrValueExists:
    case LdapResult.noSuchAttribute:
    case LdapResult.notAllowedOnNonLeaf:
    case LdapResult.notAllowedOnRDN:
      return new ConflictError(detail, { cause: err });
    case LdapResult.noSuchObject:
      return new NotFoundError(detail, { cause: err });
    case LdapResult.insufficientAccessRights:
    case LdapResult.strongerAuthRequired:
      return new ForbiddenError(detail, { cause: err });
    case LdapResult.undefinedAttributeType:
    case LdapResult.constraintViolation:
    case LdapResult.invalidAttributeSyntax:
    case LdapResult.invalidDNSyntax:
    case LdapResult.namingViolation:
    case LdapResult.objectClassViolation:
      return new ValidationError(detail, { cause: err });
    case LdapResult.invalidCredentials:
      return new DirectoryUnavailableError(`directory refused our credentials (${detail})`, { cause: err });
    default:
      // busy, unavailable, time/size/admin limits, other: the answer is missing or partial.
      return new DirectoryUnavailableError(detail, { cause: err });
  }
}
