/**
 * The fixed part of the tree: suffix, organisational units, allocation counters and the four
 * service accounts (portal: read/write; mapper agent: what the map needs; nss: the POSIX
 * attributes NSS clients need on storage nodes, see docs/nss.md; replicator: what syncrepl
 * consumers read the provider as, see docs/replication.md). Idempotent: entries that exist are left alone (a counter is never reset).
 */
import { ConflictError } from '../errors.js';
import type { RangesConfig } from './config.js';
import type { AttributeMap, LdapConnection } from './connection.js';
import { childDn } from './escape.js';
import { sshaHash } from './ssha.js';

export const OUS = ['people', 'groups', 'identities', 'campaigns', 'requests', 'allocation', 'tombstones', 'services'] as const;
export type OrgUnit = (typeof OUS)[number];

export const PORTAL_SERVICE = 'portal';
export const AGENT_SERVICE = 'mapper-agent';
export const NSS_SERVICE = 'nss';
export const REPLICATION_SERVICE = 'replicator';

/** Passwords of the service accounts to create; an absent one is not created. */
export interface ServicePasswords {
  portalPassword?: string;
  agentPassword?: string;
  nssPassword?: string;
  replicatorPassword?: string;
}

export function ouDn(ou: OrgUnit, baseDn: string): string {
  return `ou=${ou},${baseDn}`;
}

export function serviceDn(name: string, baseDn: string): string {
  return childDn('cn', name, ouDn('services', baseDn));
}

/** Entries in parent-first order. Service passwords are hashed here; pass undefined to skip an account. */
export function bootstrapEntries(
  baseDn: string,
  ranges: RangesConfig,
  services: ServicePasswords = {},
): { dn: string; attrs: AttributeMap }[] {
  const first = baseDn.split(',')[0]!;
  const [attr, ...rest] = first.split('=');
  if (attr?.trim().toLowerCase() !== 'dc') throw new ConflictError(`base DN must start with dc=...: ${baseDn}`);
  const dcValue = rest.join('=');
  const entries: { dn: string; attrs: AttributeMap }[] = [
    { dn: baseDn, attrs: { objectClass: ['top', 'dcObject', 'organization'], dc: dcValue, o: 'campaign-guard' } },
    ...OUS.map((ou) => ({ dn: ouDn(ou, baseDn), attrs: { objectClass: ['top', 'organizationalUnit'], ou } })),
    {
      dn: childDn('cn', 'uidNumber', ouDn('allocation', baseDn)),
      attrs: { objectClass: ['top', 'cgCounter'], cn: 'uidNumber', cgNextValue: String(ranges.uid.min), description: 'next uidNumber' },
    },
    {
      dn: childDn('cn', 'gidNumber', ouDn('allocation', baseDn)),
      attrs: { objectClass: ['top', 'cgCounter'], cn: 'gidNumber', cgNextValue: String(ranges.gid.min), description: 'next gidNumber' },
    },
  ];
  const svc = (name: string, password: string | undefined, description: string) => {
    if (password === undefined) return;
    entries.push({
      dn: serviceDn(name, baseDn),
      attrs: { objectClass: ['top', 'applicationProcess', 'simpleSecurityObject'], cn: name, userPassword: sshaHash(password), description },
    });
  };
  svc(PORTAL_SERVICE, services.portalPassword, 'campaign-guard portal: writes people, identities, campaigns, requests');
  svc(AGENT_SERVICE, services.agentPassword, 'campaign-guard mapper agent: read only, what the map needs');
  svc(NSS_SERVICE, services.nssPassword, 'NSS (nslcd/sssd) on storage nodes: read only, POSIX attributes of active people and their groups');
  svc(REPLICATION_SERVICE, services.replicatorPassword, 'syncrepl consumers: read only, every entry and attribute (passwords included), to copy the tree');
  return entries;
}

/** Add whatever of the bootstrap tree is missing. Returns the DNs it added. */
export async function bootstrapTree(
  ldap: LdapConnection,
  baseDn: string,
  ranges: RangesConfig,
  services: ServicePasswords = {},
): Promise<string[]> {
  const added: string[] = [];
  for (const { dn, attrs } of bootstrapEntries(baseDn, ranges, services)) {
    try {
      await ldap.add(dn, attrs);
      added.push(dn);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  return added;
}


/** The bootstrap tree as LDIF (service accounts omitted: their passwords are per installation). */
export function bootstrapLdif(baseDn: string, ranges: RangesConfig): string {
  return bootstrapEntries(baseDn, ranges)
    .map(({ dn, attrs }) => {
      const lines = [`dn: ${dn}`];
      for (const [name, value] of Object.entries(attrs)) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
      return lines.join('\n');
    })
    .join('\n\n') + '\n';
}
