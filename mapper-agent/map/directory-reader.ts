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
import { PagedReader } from '../../core/ldap/paged-reader.js';
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
  | { type: 'x509'; subject: string; /** username from the owner DN */ owner: string; active: boolean; /** GeneralizedTime, YYYYMMDDHHMMSSZ */ notAfter?: string }
  | { type: 'oidc'; issuer: string; subject: string; owner: string; active: boolean };

export interface DirectorySnapshot {
  /** by username (the uid RDN of the person entry) */
  accounts: Map<string, MapAccount>;
  /** streams every identity to `visit` as it arrives; rejects if the read fails part-way */
  forEachIdentity(visit: (identity: MapIdentity) => void): Promise<void>;
  /** entries left out because they are malformed (filled while identities are read) */
  problems: string[];
}

export const PAGE_SIZE = 1000;

/**
 * Read campaigns and people now; identities when forEachIdentity is called. Uses the fast paged
 * reader with the connection's own URL and credentials; `close()` is the caller's via the
 * returned snapshot's promise chain (the reader closes itself after the identities).
 */
export async function readDirectory(ldap: LdapConnection, baseDn: string, pageSize = PAGE_SIZE): Promise<DirectorySnapshot> {
  const layout = new DirectoryLayout(baseDn);
  const { url, bindDn, password, operationTimeoutMs, tlsOptions } = ldap.options;
  const reader = new PagedReader({ url, bindDn, password, timeoutMs: operationTimeoutMs ?? 10000, ...(tlsOptions ? { tls: tlsOptions } : {}) });
  await reader.open();
  try {
    const campaignGids = new Map<string, number[]>();
    await reader.search({ base: layout.campaigns, scope: 'one', equality: ['objectClass', 'posixGroup'], attributes: ['gidNumber', 'memberUid'], pageSize }, (_dn, a) => {
      const gid = toInt(a.get('gidnumber')?.[0]);
      if (gid === undefined) return;
      for (const member of a.get('memberuid') ?? []) {
        const list = campaignGids.get(member);
        if (list) list.push(gid);
        else campaignGids.set(member, [gid]);
      }
    });

    const accounts = new Map<string, MapAccount>();
    await reader.search({ base: layout.people, scope: 'one', equality: ['objectClass', 'posixAccount'], attributes: ['uid', 'uidNumber', 'gidNumber', 'voPersonStatus'], pageSize }, (dn, a) => {
      const username = a.get('uid')?.[0];
      const uidNumber = toInt(a.get('uidnumber')?.[0]);
      const gidNumber = toInt(a.get('gidnumber')?.[0]);
      if (!username || uidNumber === undefined || gidNumber === undefined) return;
      if (usernameOfDn(dn) !== username) return; // not an entry the portal wrote (uid RDN differs from uid)
      accounts.set(username, {
        username, uidNumber, gidNumber,
        active: (a.get('vopersonstatus')?.[0] ?? 'active') === 'active',
        campaignGids: (campaignGids.get(username) ?? []).sort((x, y) => x - y),
      });
    });

    const problems: string[] = [];
    const peopleSuffix = `,${layout.people}`.toLowerCase().replace(/\s*([,=])\s*/g, '$1');
    const attributes = ['cgIdentityType', 'cgOwner', 'voPersonStatus', 'cgCertSubject', 'cgCertNotAfter', 'cgOidcIssuer', 'cgOidcSubject'];
    return {
      accounts,
      problems,
      forEachIdentity: (visit) =>
        reader
          .search({ base: layout.identities, scope: 'one', equality: ['objectClass', 'cgIdentity'], attributes, pageSize }, (dn, a) => {
            const identity = toMapIdentity(a, peopleSuffix);
            if (typeof identity === 'string') problems.push(`${dn}: ${identity}`);
            else visit(identity);
          })
          .then(() => undefined)
          .finally(() => reader.close()),
    };
  } catch (err) {
    await reader.close().catch(() => undefined);
    throw err;
  }
}

/** `uid=alice,ou=people,...` -> `alice` (usernames need no DN escaping: [a-z0-9._-]). */
function usernameOfDn(dn: string): string | undefined {
  const m = /^uid=([a-z][a-z0-9._-]{0,31}),/i.exec(dn);
  return m?.[1]?.toLowerCase();
}

function toInt(v: string | undefined): number | undefined {
  return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined;
}

/** The identity, or why it is left out. */
function toMapIdentity(a: Map<string, string[]>, peopleSuffix: string): MapIdentity | string {
  const get = (name: string) => a.get(name)?.[0];
  const ownerDn = get('cgowner');
  const owner = ownerDn && ownerDn.toLowerCase().replace(/\s*([,=])\s*/g, '$1').endsWith(peopleSuffix) ? usernameOfDn(ownerDn) : undefined;
  if (!owner) return `cgOwner ${JSON.stringify(ownerDn)} is not a person entry of this directory`;
  const active = (get('vopersonstatus') ?? 'active') === 'active';
  const type = get('cgidentitytype')?.toLowerCase();
  if (type === 'x509') {
    const subject = get('cgcertsubject');
    if (!subject) return 'x509 identity without cgCertSubject';
    const notAfter = get('cgcertnotafter');
    if (!notAfter) return { type, subject, owner, active };
    if (/^\d{14}Z$/.test(notAfter)) return { type, subject, owner, active, notAfter };
    try {
      // other GeneralizedTime forms (fractions): normalise to the comparable form
      return { type, subject, owner, active, notAfter: fromGeneralizedTime(notAfter).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z') };
    } catch {
      return `unreadable cgCertNotAfter ${JSON.stringify(notAfter)}`;
    }
  }
  if (type === 'oidc') {
    const issuer = get('cgoidcissuer');
    const subject = get('cgoidcsubject');
    if (!issuer || !subject) return 'oidc identity without cgOidcIssuer/cgOidcSubject';
    return { type, issuer, subject, owner, active };
  }
  return `unknown cgIdentityType ${JSON.stringify(type)}`;
}
