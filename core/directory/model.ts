/**
 * The directory's domain types, shared by portal and agent. Entries are identified by their
 * natural names (username, campaign name, identity reference, request id); DNs are exposed for
 * callers that need them (audit, dCache's ldap plugin) but never need to be built by hand.
 */

import type { IdentityStatus, PersonStatus } from './status.js';

export type { IdentityStatus, PersonStatus } from './status.js';

export interface Person {
  dn: string;
  username: string;
  uidNumber: number;
  /** gidNumber of the person's private group (cn=<username>,ou=groups). */
  gidNumber: number;
  cn: string;
  sn: string;
  givenName?: string;
  displayName?: string;
  mail?: string;
  homeDirectory: string;
  loginShell?: string;
  /** voPersonStatus; only 'active' may log in or be mapped (see status.ts). */
  status: PersonStatus;
  /** Accepted usage-policy ids (voPersonPolicyAgreement). */
  policyAgreements: string[];
  /** Portal roles, e.g. 'admin' (cgRole). */
  roles: string[];
  /** Set on a service identity (cgServiceRole), absent on a person. */
  serviceRole?: ServiceRole;
}

/**
 * What a service identity is for (see README, "Service identities"):
 * - public-reader: the website's download identity, in no campaign group (reads public files only);
 * - replication: Rucio/FTS, member of every campaign, added to new ones, never PI;
 * - instrument: writes into landing areas (filesystem, by the operator), no campaign membership.
 */
export type ServiceRole = 'public-reader' | 'replication' | 'instrument';
export const SERVICE_ROLES: readonly ServiceRole[] = ['public-reader', 'replication', 'instrument'];
export function isServiceRole(value: string): value is ServiceRole {
  return (SERVICE_ROLES as readonly string[]).includes(value);
}

export interface NewPerson {
  username: string;
  /** Full name; defaults to displayName, then the username. */
  cn?: string;
  /** Surname; defaults to the last word of cn. */
  sn?: string;
  givenName?: string;
  displayName?: string;
  mail?: string;
  loginShell?: string;
  roles?: string[];
  policyAgreements?: string[];
  /** Makes the account a service identity of this role (fixed at creation). */
  serviceRole?: ServiceRole;
}

/** Fields update() may change; undefined = leave alone, null = remove (optional fields only). */
export interface PersonUpdate {
  cn?: string;
  sn?: string;
  givenName?: string | null;
  displayName?: string | null;
  mail?: string | null;
  loginShell?: string | null;
  policyAgreements?: string[];
  roles?: string[];
}

export type IdentityType = 'x509' | 'oidc';

/** What names an identity: the key of its entry is derived from exactly these fields. */
export type IdentityRef =
  | { type: 'x509'; /** grid slash form, e.g. /DC=org/DC=example/CN=Alice */ subject: string }
  | { type: 'oidc'; /** issuer URL (iss) */ issuer: string; /** sub */ subject: string };

/** An identity to bind, with the extra facts stored alongside it. */
export type IdentityInput =
  | { type: 'x509'; subject: string; /** issuer, grid slash form */ issuer?: string; notAfter?: Date; /** other grid DNs dCache may compute for the subject (JDK 17) */ forms?: string[] }
  | { type: 'oidc'; issuer: string; subject: string };

export interface Identity {
  dn: string;
  /** sha256 hex of the reference (see identityKey). */
  key: string;
  type: IdentityType;
  /** What names the identity (the key is derived from it). */
  ref: IdentityRef;
  ownerDn: string;
  /** Username of the owner (from ownerDn). */
  owner: string;
  status: IdentityStatus;
  /** x509: subject and issuer in grid slash form; notAfter when known. */
  certSubject?: string;
  certIssuer?: string;
  certNotAfter?: Date;
  /** x509: other grid DNs dCache may compute for the same subject (JDK 17), mapped like the subject */
  certSubjectForms?: string[];
  /** oidc */
  oidcIssuer?: string;
  oidcSubject?: string;
}

export type CampaignState = 'open' | 'closed';

export interface Campaign {
  dn: string;
  name: string;
  gidNumber: number;
  description?: string;
  piDn: string;
  /** Username of the PI. */
  pi: string;
  /** Usernames (memberUid); the PI is always one of them. */
  members: string[];
  /** End of the embargo; undefined = no embargo, the data are public. */
  embargoEnd?: Date;
  /** Rolling release (cgProprietaryPeriod): a file opens this many days after its DATE-OBS (see core/embargo/policy.ts). */
  proprietaryDays?: number;
  state: CampaignState;
  /** username -> end of that membership (cgMemberUntil); members without an entry have no end. */
  memberUntil: Record<string, Date>;
}

export interface NewCampaign {
  name: string;
  /** Username of the principal investigator; becomes the first member. */
  pi: string;
  description?: string;
  /** undefined/null = public from the start. */
  embargoEnd?: Date | null;
}

export type RequestState = 'pending' | 'approved' | 'denied';

export interface MembershipRequest {
  dn: string;
  id: string;
  campaignDn: string;
  campaign: string;
  requesterDn: string;
  requester: string;
  justification?: string;
  state: RequestState;
  decidedByDn?: string;
  decidedBy?: string;
  decisionReason?: string;
  decidedAt?: Date;
  /** When the request was made (the entry's createTimestamp). */
  createdAt?: Date;
}

export interface NewMembershipRequest {
  campaign: string;
  requester: string;
  justification?: string;
}

export interface Decision {
  decision: 'approved' | 'denied';
  /** Username of the person deciding: the campaign's PI or someone with the admin role. */
  decidedBy: string;
  reason?: string;
}
