/**
 * The one decoder of directory entries into the domain types, used by the portal's stores (ldapts
 * entries) and by the agent's map reader (the paged BER reader's attribute maps) alike, so both
 * see the same people, identities, campaigns, memberships and requests, with one status rule
 * (status.ts). Each decoder takes the entry's DN and its attribute values by lower-cased name,
 * decodes what is there, and returns either the value or a string saying why the entry is left
 * out (a required attribute missing or unreadable). Only the attributes a caller asked for need to
 * be present: the map asks for the *_MAP_ATTRIBUTES subsets and gets the same answers on them.
 */
import { type Campaign, type Identity, isServiceRole, type MembershipRequest, type Person } from './model.js';
import { type DirectoryLayout, personUsernameOf } from './layout.js';
import { decodePersonStatus, decodeStatus } from './status.js';
import { fromGeneralizedTime } from './time.js';
import { NAME_PATTERN } from './validate.js';

/** Attribute values by lower-cased attribute name (LdapEntry.attributes, PagedReader's visitor). */
export type AttributeValues = ReadonlyMap<string, readonly string[]>;

/** A decoded value, or why the entry is left out. */
export type Decoded<T> = T | string;

export const PERSON_ATTRIBUTES = [
  'uid', 'uidNumber', 'gidNumber', 'cn', 'sn', 'givenName', 'displayName', 'mail',
  'homeDirectory', 'loginShell', 'voPersonStatus', 'voPersonPolicyAgreement', 'cgRole',
  'cgServiceRole',
];
/** What the map needs of a person. */
export const PERSON_MAP_ATTRIBUTES = ['uid', 'uidNumber', 'gidNumber', 'voPersonStatus'];

export const IDENTITY_ATTRIBUTES = [
  'cgIdentityKey', 'cgIdentityType', 'cgOwner', 'voPersonStatus',
  'cgCertSubject', 'cgCertSubjectForm', 'cgCertIssuer', 'cgCertNotAfter', 'cgOidcIssuer', 'cgOidcSubject',
];
/** What the map needs of an identity (the key comes from the RDN). */
export const IDENTITY_MAP_ATTRIBUTES = ['cgIdentityType', 'cgOwner', 'voPersonStatus', 'cgCertSubject', 'cgCertSubjectForm', 'cgCertNotAfter', 'cgOidcIssuer', 'cgOidcSubject'];

export const CAMPAIGN_ATTRIBUTES = ['cn', 'gidNumber', 'memberUid', 'description', 'cgPrincipalInvestigator', 'cgEmbargoEnd', 'cgCampaignState', 'cgMemberUntil', 'cgProprietaryPeriod'];
/** What the map needs of a campaign: its gid and members (memberships), with their ends. */
export const CAMPAIGN_MAP_ATTRIBUTES = ['cn', 'gidNumber', 'memberUid', 'cgMemberUntil'];

export const REQUEST_ATTRIBUTES = [
  'cgRequestId', 'cgCampaign', 'cgRequester', 'cgJustification', 'cgRequestState',
  'cgDecidedBy', 'cgDecisionReason', 'cgDecidedAt', 'createTimestamp',
];

const KEY_RDN = /^cgIdentityKey\s*=\s*([0-9a-f]{64})\s*,/i;
const EMPTY: readonly string[] = [];

export function decodePerson(dn: string, a: AttributeValues, layout: DirectoryLayout): Decoded<Person> {
  const username = personUsernameOf(dn, layout);
  if (username === undefined) return `not a person entry of this directory (the DN must be uid=<username>,${layout.people})`;
  if (!(a.get('uid') ?? EMPTY).includes(username)) return `uid does not hold the username ${username} of the DN`;
  const uidNumber = int(a.get('uidnumber'));
  if (uidNumber === undefined) return 'uidNumber missing or not an integer';
  const gidNumber = int(a.get('gidnumber'));
  if (gidNumber === undefined) return 'gidNumber missing or not an integer';
  const rawServiceRole = first(a, 'cgservicerole')?.toLowerCase();
  // Fail closed: a service identity of a role this version does not know is left out.
  if (rawServiceRole !== undefined && !isServiceRole(rawServiceRole)) return `unknown cgServiceRole ${JSON.stringify(rawServiceRole)}`;
  const serviceRole = rawServiceRole;
  return {
    dn,
    username,
    uidNumber,
    gidNumber,
    cn: first(a, 'cn') ?? '',
    sn: first(a, 'sn') ?? '',
    givenName: first(a, 'givenname'),
    displayName: first(a, 'displayname'),
    mail: first(a, 'mail'),
    homeDirectory: first(a, 'homedirectory') ?? '',
    loginShell: first(a, 'loginshell'),
    status: decodePersonStatus(first(a, 'vopersonstatus')),
    policyAgreements: [...(a.get('vopersonpolicyagreement') ?? EMPTY)],
    roles: (a.get('cgrole') ?? EMPTY).map((r) => r.toLowerCase()),
    ...(serviceRole !== undefined ? { serviceRole } : {}),
  };
}

export function decodeIdentity(dn: string, a: AttributeValues, layout: DirectoryLayout): Decoded<Identity> {
  const key = first(a, 'cgidentitykey')?.toLowerCase() ?? keyOfDn(dn);
  if (!key) return 'no cgIdentityKey';
  const ownerDn = first(a, 'cgowner') ?? '';
  const owner = personUsernameOf(ownerDn, layout);
  if (owner === undefined) return `cgOwner ${JSON.stringify(ownerDn)} is not a person entry of this directory`;
  const status = decodeStatus(first(a, 'vopersonstatus'));
  const type = first(a, 'cgidentitytype')?.toLowerCase();
  if (type === 'x509') {
    const subject = first(a, 'cgcertsubject');
    if (!subject) return 'x509 identity without cgCertSubject';
    const notAfterText = first(a, 'cgcertnotafter');
    let certNotAfter: Date | undefined;
    if (notAfterText !== undefined) {
      try {
        certNotAfter = fromGeneralizedTime(notAfterText);
      } catch {
        return `unreadable cgCertNotAfter ${JSON.stringify(notAfterText)}`;
      }
    }
    const forms = (a.get('cgcertsubjectform') ?? EMPTY).filter((f) => f !== subject);
    return {
      dn, key, type, ref: { type, subject }, ownerDn, owner, status,
      certSubject: subject, certIssuer: first(a, 'cgcertissuer'), certNotAfter, ...(forms.length ? { certSubjectForms: [...forms] } : {}),
    };
  }
  if (type === 'oidc') {
    const issuer = first(a, 'cgoidcissuer');
    const subject = first(a, 'cgoidcsubject');
    if (!issuer || !subject) return 'oidc identity without cgOidcIssuer/cgOidcSubject';
    return { dn, key, type, ref: { type, issuer, subject }, ownerDn, owner, status, oidcIssuer: issuer, oidcSubject: subject };
  }
  return `unknown cgIdentityType ${JSON.stringify(type)}`;
}

export const MAX_PROPRIETARY_DAYS = 36500;

/** A proprietary period as stored (cgProprietaryPeriod): decimal whole days, 1..36500; undefined otherwise. */
export function parseProprietaryDays(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,4}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_PROPRIETARY_DAYS ? n : undefined;
}

export function decodeCampaign(dn: string, a: AttributeValues, layout: DirectoryLayout): Decoded<Campaign> {
  const name = first(a, 'cn');
  if (!name) return 'campaign without cn';
  const gidNumber = int(a.get('gidnumber'));
  if (gidNumber === undefined) return 'gidNumber missing or not an integer';
  const embargoText = first(a, 'cgembargoend');
  let embargoEnd: Date | undefined;
  if (embargoText !== undefined) {
    try {
      embargoEnd = fromGeneralizedTime(embargoText);
    } catch {
      return `unreadable cgEmbargoEnd ${JSON.stringify(embargoText)}`;
    }
  }
  // Rolling release: whole days, 1..36500. Anything else makes the campaign unreadable (its files
  // are then quarantined, never opened): an unreadable rule is never read as "no rule".
  const periodText = first(a, 'cgproprietaryperiod');
  let proprietaryDays: number | undefined;
  if (periodText !== undefined) {
    proprietaryDays = parseProprietaryDays(periodText);
    if (proprietaryDays === undefined) return `unreadable cgProprietaryPeriod ${JSON.stringify(periodText)}: whole days, 1 to ${MAX_PROPRIETARY_DAYS}`;
  }
  const piDn = first(a, 'cgprincipalinvestigator') ?? '';
  return {
    dn,
    name,
    gidNumber,
    description: first(a, 'description'),
    piDn,
    pi: layout.usernameOf(piDn),
    members: decodeMembers(a),
    embargoEnd,
    ...(proprietaryDays !== undefined ? { proprietaryDays } : {}),
    state: first(a, 'cgcampaignstate')?.toLowerCase() === 'closed' ? 'closed' : 'open',
    memberUntil: decodeMemberUntil(a),
  };
}

/**
 * Membership ends (cgMemberUntil "<username> <GeneralizedTime>"). An unreadable value is skipped,
 * not fatal: the campaign stays readable and the membership simply has no end.
 */
export function decodeMemberUntil(a: AttributeValues): Record<string, Date> {
  const out: Record<string, Date> = {};
  for (const v of a.get('cgmemberuntil') ?? EMPTY) {
    const [username, time, ...rest] = v.trim().split(/\s+/);
    if (!username || !time || rest.length || !NAME_PATTERN.test(username)) continue;
    try {
      const d = fromGeneralizedTime(time);
      // Two values for one member (a hand edit): the earlier end wins.
      if (!out[username] || d < out[username]) out[username] = d;
    } catch {
      continue;
    }
  }
  return out;
}

/**
 * Memberships of a campaign (memberUid): usernames, sorted, without duplicates. Values that cannot
 * be usernames are dropped: no account could hold them.
 */
export function decodeMembers(a: AttributeValues): string[] {
  const values = a.get('memberuid') ?? EMPTY;
  const out = new Set<string>();
  for (const v of values) if (NAME_PATTERN.test(v)) out.add(v);
  return [...out].sort();
}

const REQUEST_STATES = new Set(['pending', 'approved', 'denied']);

export function decodeRequest(dn: string, a: AttributeValues, layout: DirectoryLayout): Decoded<MembershipRequest> {
  const id = first(a, 'cgrequestid');
  if (!id) return 'membership request without cgRequestId';
  const state = (first(a, 'cgrequeststate') ?? 'pending').toLowerCase();
  if (!REQUEST_STATES.has(state)) return `unknown cgRequestState ${JSON.stringify(state)}`;
  let decidedAt: Date | undefined;
  let createdAt: Date | undefined;
  try {
    decidedAt = optionalTime(first(a, 'cgdecidedat'));
    createdAt = optionalTime(first(a, 'createtimestamp'));
  } catch (err) {
    return (err as Error).message;
  }
  const campaignDn = first(a, 'cgcampaign') ?? '';
  const requesterDn = first(a, 'cgrequester') ?? '';
  const decidedByDn = first(a, 'cgdecidedby');
  return {
    dn,
    id,
    campaignDn,
    campaign: layout.campaignNameOf(campaignDn),
    requesterDn,
    requester: layout.usernameOf(requesterDn),
    justification: first(a, 'cgjustification'),
    state: state as MembershipRequest['state'],
    decidedByDn,
    decidedBy: decidedByDn ? layout.usernameOf(decidedByDn) : undefined,
    decisionReason: first(a, 'cgdecisionreason'),
    decidedAt,
    createdAt,
  };
}

/** The key from the RDN (the map does not ask for cgIdentityKey); fast for the form we write. */
function keyOfDn(dn: string): string | undefined {
  if (dn.startsWith('cgIdentityKey=') && dn.charCodeAt(78) === 44 /* , */ && lowerHex(dn, 14, 78)) return dn.slice(14, 78);
  return KEY_RDN.exec(dn)?.[1]?.toLowerCase();
}

function lowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function first(a: AttributeValues, lowerName: string): string | undefined {
  return a.get(lowerName)?.[0];
}

function int(values: readonly string[] | undefined): number | undefined {
  const v = values?.[0];
  return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined;
}

function optionalTime(s: string | undefined): Date | undefined {
  return s === undefined ? undefined : fromGeneralizedTime(s);
}
