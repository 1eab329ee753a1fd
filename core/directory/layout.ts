/** Where each kind of entry lives under the base DN. Every name goes through escapeDnValue. */
import { createHash } from 'node:crypto';
import { childDn, firstRdnValue } from '../ldap/escape.js';
import type { IdentityRef } from './model.js';

export class DirectoryLayout {
  readonly people: string;
  readonly groups: string;
  readonly identities: string;
  readonly campaigns: string;
  readonly requests: string;
  readonly allocation: string;
  readonly tombstones: string;
  readonly services: string;
  /** ou=people,<base> as normaliseDn gives it, for personUsernameOf. */
  readonly normalisedPeople: string;

  constructor(readonly baseDn: string) {
    this.people = `ou=people,${baseDn}`;
    this.groups = `ou=groups,${baseDn}`;
    this.identities = `ou=identities,${baseDn}`;
    this.campaigns = `ou=campaigns,${baseDn}`;
    this.requests = `ou=requests,${baseDn}`;
    this.allocation = `ou=allocation,${baseDn}`;
    this.tombstones = `ou=tombstones,${baseDn}`;
    this.services = `ou=services,${baseDn}`;
    this.normalisedPeople = normaliseDn(this.people);
  }

  personDn(username: string): string {
    return childDn('uid', username, this.people);
  }
  privateGroupDn(username: string): string {
    return childDn('cn', username, this.groups);
  }
  tombstoneDn(username: string): string {
    return childDn('uid', username, this.tombstones);
  }
  campaignDn(name: string): string {
    return childDn('cn', name, this.campaigns);
  }
  requestDn(id: string): string {
    return childDn('cgRequestId', id, this.requests);
  }
  identityDn(key: string): string {
    return childDn('cgIdentityKey', key, this.identities);
  }
  counterDn(kind: 'uid' | 'gid'): string {
    return childDn('cn', kind === 'uid' ? 'uidNumber' : 'gidNumber', this.allocation);
  }

  /** Username from a person DN (uid=<name>,ou=people,...). */
  usernameOf(dn: string): string {
    return firstRdnValue(dn, 'uid') ?? dn;
  }
  /** Campaign name from a campaign DN. */
  campaignNameOf(dn: string): string {
    return firstRdnValue(dn, 'cn') ?? dn;
  }
}

/**
 * The identity's entry key: sha256 hex of `x509\n<subject>` or `oidc\n<issuer>\n<sub>`.
 * dCache matches a certificate by subject alone, so the issuer is not part of the key.
 */
export function identityKey(ref: IdentityRef): string {
  const material = ref.type === 'x509' ? `x509\n${ref.subject}` : `oidc\n${ref.issuer}\n${ref.subject}`;
  return createHash('sha256').update(material, 'utf8').digest('hex');
}

/**
 * A DN in the form we compare DNs we wrote ourselves in: lower case, no spaces around `,` `=` `+`
 * (slapd may return another case or spacing than we wrote). Not a general RFC 4514 normaliser.
 */
export function normaliseDn(dn: string): string {
  return dn.replace(/\s*([,=+])\s*/g, '$1').toLowerCase();
}

const PERSON_RDN = /^uid\s*=\s*([a-z][a-z0-9._-]{0,31})\s*,/i;

/** s[from, to) matches NAME_PATTERN in its lower-case form: [a-z][a-z0-9._-]{0,31}. */
function plainUsername(s: string, from: number, to: number): boolean {
  if (to - from > 32) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    const lower = c >= 97 && c <= 122;
    if (i === from ? !lower : !(lower || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 45)) return false;
  }
  return true;
}

/**
 * The username of a person DN of this directory (`uid=<name>,ou=people,<base>`, any case or
 * spacing), or undefined for any other DN. Usernames need no DN escaping ([a-z0-9._-]), so a
 * match of the first RDN is exact; the name is lower-cased because uid compares case-insensitively.
 */
export function personUsernameOf(dn: string, layout: DirectoryLayout): string | undefined {
  // Fast path, no regular expression: exactly the DN we write (the map reads one per identity).
  if (dn.startsWith('uid=')) {
    const comma = dn.indexOf(',', 4);
    if (comma > 4 && dn.length - comma - 1 === layout.people.length && dn.endsWith(layout.people) && plainUsername(dn, 4, comma)) return dn.slice(4, comma);
  }
  const m = PERSON_RDN.exec(dn);
  if (!m) return undefined;
  const rest = dn.slice(m[0].length);
  // Fast path: the DN as we write it (the map reader sees every owner DN of the directory).
  if (rest !== layout.people && normaliseDn(rest.trimStart()) !== layout.normalisedPeople) return undefined;
  return m[1]!.toLowerCase();
}
