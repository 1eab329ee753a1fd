/**
 * Reads what the map needs from LDAP in three paged, streaming searches with the agent's
 * read-only account: campaigns (membership -> secondary gids), people (username, uid, primary gid,
 * status) and identities. Only the attributes the map uses are requested, and identities are
 * yielded page by page, so memory grows with the number of accounts (a small record each), not
 * with the number of identities or the size of the LDAP answers.
 *
 * A directory that fails or stops answering part-way raises DirectoryUnavailableError: a map is
 * never built from a partial read.
 */
import type { LdapConnection } from '../../core/ldap/connection.js';
import type { LdapEntry } from '../../core/ldap/entry.js';
import { DirectoryLayout } from '../../core/directory/layout.js';
import { fromGeneralizedTime } from '../../core/directory/time.js';

export interface MapAccount {
  username: string;
  uidNumber: number;
  /** primary gid: the account's private group */
  gidNumber: number;
  active: boolean;
  /** gids of the campaigns the account is a member of, ascending */
  campaignGids: number[];
}

export type MapIdentity =
  | { type: 'x509'; subject: string; ownerDn: string; active: boolean; notAfter?: Date }
  | { type: 'oidc'; issuer: string; subject: string; ownerDn: string; active: boolean };

export interface DirectorySnapshot {
  /** by lower-cased person DN */
  accounts: Map<string, MapAccount>;
  /** identity pages, streamed */
  identities: AsyncIterable<MapIdentity[]>;
  /** entries left out because they are malformed (filled while identities are read) */
  problems: string[];
}

export const PAGE_SIZE = 1000;

export async function readDirectory(ldap: LdapConnection, baseDn: string, pageSize = PAGE_SIZE): Promise<DirectorySnapshot> {
  const layout = new DirectoryLayout(baseDn);

  const campaignGids = new Map<string, number[]>();
  for await (const page of ldap.searchPages(layout.campaigns, { scope: 'one', filter: '(objectClass=posixGroup)', attributes: ['gidNumber', 'memberUid'], pageSize })) {
    for (const e of page) {
      const gid = e.getInt('gidNumber');
      if (gid === undefined) continue;
      for (const member of e.getAll('memberUid')) {
        const list = campaignGids.get(member);
        if (list) list.push(gid);
        else campaignGids.set(member, [gid]);
      }
    }
  }

  const accounts = new Map<string, MapAccount>();
  for await (const page of ldap.searchPages(layout.people, { scope: 'one', filter: '(objectClass=posixAccount)', attributes: ['uid', 'uidNumber', 'gidNumber', 'voPersonStatus'], pageSize })) {
    for (const e of page) {
      const username = e.get('uid');
      const uidNumber = e.getInt('uidNumber');
      const gidNumber = e.getInt('gidNumber');
      if (!username || uidNumber === undefined || gidNumber === undefined) continue;
      accounts.set(e.dn.toLowerCase(), {
        username, uidNumber, gidNumber,
        active: (e.get('voPersonStatus') ?? 'active') === 'active',
        campaignGids: (campaignGids.get(username) ?? []).sort((a, b) => a - b),
      });
    }
  }

  const problems: string[] = [];
  return { accounts, identities: identityPages(ldap, layout, pageSize, problems), problems };
}

async function* identityPages(ldap: LdapConnection, layout: DirectoryLayout, pageSize: number, problems: string[]): AsyncGenerator<MapIdentity[]> {
  const attributes = ['cgIdentityType', 'cgOwner', 'voPersonStatus', 'cgCertSubject', 'cgCertNotAfter', 'cgOidcIssuer', 'cgOidcSubject'];
  for await (const page of ldap.searchPages(layout.identities, { scope: 'one', filter: '(objectClass=cgIdentity)', attributes, pageSize })) {
    const out: MapIdentity[] = [];
    for (const e of page) {
      const identity = toMapIdentity(e);
      if (typeof identity === 'string') problems.push(`${e.dn}: ${identity}`);
      else out.push(identity);
    }
    yield out;
  }
}

/** The identity, or why it is left out. */
function toMapIdentity(e: LdapEntry): MapIdentity | string {
  const ownerDn = e.get('cgOwner')?.toLowerCase();
  if (!ownerDn) return 'no cgOwner';
  const active = (e.get('voPersonStatus') ?? 'active') === 'active';
  const type = e.get('cgIdentityType')?.toLowerCase();
  if (type === 'x509') {
    const subject = e.get('cgCertSubject');
    if (!subject) return 'x509 identity without cgCertSubject';
    const notAfter = e.get('cgCertNotAfter');
    if (!notAfter) return { type, subject, ownerDn, active };
    try {
      return { type, subject, ownerDn, active, notAfter: fromGeneralizedTime(notAfter) };
    } catch {
      return `unreadable cgCertNotAfter ${JSON.stringify(notAfter)}`;
    }
  }
  if (type === 'oidc') {
    const issuer = e.get('cgOidcIssuer');
    const subject = e.get('cgOidcSubject');
    if (!issuer || !subject) return 'oidc identity without cgOidcIssuer/cgOidcSubject';
    return { type, issuer, subject, ownerDn, active };
  }
  return `unknown cgIdentityType ${JSON.stringify(type)}`;
}
