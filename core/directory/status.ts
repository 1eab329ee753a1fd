/**
 * The one rule for the status of people and identities (voPersonStatus), for the portal and the
 * map alike: only `active` is active. voPerson defines active, deleted, expired, pending and
 * suspended (other provisioning tools write all of them); identities may also be `revoked`
 * (this portal's word for an identity taken away). The attribute compares case-insensitively
 * (caseIgnoreMatch), so the value is read in any case. An absent attribute means the writer does
 * not track status: active, as slapd entries written by NSS-oriented tools usually are. Any other
 * value is `unknown`, and unknown is not active.
 */

export const VOPERSON_STATUSES = ['active', 'deleted', 'expired', 'pending', 'suspended'] as const;

export type PersonStatus = (typeof VOPERSON_STATUSES)[number] | 'unknown';
export type IdentityStatus = PersonStatus | 'revoked';

const KNOWN: ReadonlySet<string> = new Set<string>([...VOPERSON_STATUSES, 'revoked']);

/** The status a voPersonStatus value stands for (first value of the attribute; undefined = absent). */
export function decodeStatus(value: string | undefined): IdentityStatus {
  if (value === undefined || value === 'active') return 'active';
  const s = value.trim().toLowerCase();
  return KNOWN.has(s) ? (s as IdentityStatus) : 'unknown';
}

/** A person's status: `revoked` is an identity's word; on a person it is not a known value. */
export function decodePersonStatus(value: string | undefined): PersonStatus {
  const s = decodeStatus(value);
  return s === 'revoked' ? 'unknown' : s;
}

export function isActive(status: IdentityStatus): boolean {
  return status === 'active';
}
