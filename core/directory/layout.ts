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

  constructor(readonly baseDn: string) {
    this.people = `ou=people,${baseDn}`;
    this.groups = `ou=groups,${baseDn}`;
    this.identities = `ou=identities,${baseDn}`;
    this.campaigns = `ou=campaigns,${baseDn}`;
    this.requests = `ou=requests,${baseDn}`;
    this.allocation = `ou=allocation,${baseDn}`;
    this.tombstones = `ou=tombstones,${baseDn}`;
    this.services = `ou=services,${baseDn}`;
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

/** Case-insensitive comparison of two DNs we wrote ourselves (slapd may return another case/spacing). */
export function sameDn(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/\s*([,=+])\s*/g, '$1').toLowerCase();
  return norm(a) === norm(b);
}
