/**
 * Reads what the map needs from LDAP in three paged, streaming searches with the agent's
 * read-only account, run at once on three connections: campaigns (membership -> secondary gids,
 * without memberships past their cgMemberUntil), people (username, uid, primary gid, status) and
 * identities. Only the attributes the map uses are requested; accounts go into flat tables
 * (account-table.ts: a few dozen bytes each, no object per account) and identities are yielded
 * as they arrive (those that come before the accounts are complete wait undecoded, a bounded
 * amount), so what the reader holds grows with the number of accounts, not with the number of
 * identities or the size of the LDAP answers.
 *
 * A directory that fails or stops answering part-way raises DirectoryUnavailableError: a map is
 * never built from a partial read. */
import type { LdapConnection } from '../../core/ldap/connection.js';
import { PagedReader } from '../../core/ldap/paged-reader.js';
import { DirectoryLayout } from '../../core/directory/layout.js';
import {
  CAMPAIGN_MAP_ATTRIBUTES, decodeCampaign, decodeIdentity, decodePerson, IDENTITY_MAP_ATTRIBUTES, PERSON_MAP_ATTRIBUTES,
} from '../../core/directory/decode.js';
import type { Identity } from '../../core/directory/model.js';
import { isActive } from '../../core/directory/status.js';
import { AccountTable } from './account-table.js';

export interface MapAccount {
  username: string;
  uidNumber: number;
  /** primary gid: the account's private group */
  gidNumber: number;
  /** the one status rule of core/directory/status.ts */
  active: boolean;
  /** gids of the campaigns the account is a member of, ascending */
  campaignGids: number[];
}

/** An identity as the map sees it: decoded by core/directory/decode.ts from the map's attributes. */
export type MapIdentity = Identity;

/** Accounts by username (the uid RDN of the person entry): an AccountTable from the reader, any Map in tests. */
export interface AccountLookup {
  get(username: string): MapAccount | undefined;
  has(username: string): boolean;
}

export interface DirectorySnapshot {
  accounts: AccountLookup;
  /** streams every identity to `visit` as it arrives; rejects if the read fails part-way */
  forEachIdentity(visit: (identity: MapIdentity) => void): Promise<void>;
  /** entries left out because they are malformed (filled while they are read) */
  problems: string[];
}

export const PAGE_SIZE = 1000;

/**
 * Identities read ahead while the accounts are still being read, before the builder can take them:
 * at most this many bytes of undecoded entries (about 400 bytes an identity), then slapd waits.
 * They count fully against the peak memory (freed only by a later full garbage collection): at
 * 220k identities, 4 MiB kept the peak RSS at 139-142 MB, 8 MiB reached 150-154 MB in some runs
 * and 16 MiB 159 MB (the sync before read-ahead: 136-141 MB). When the socket pauses, the
 * kernel's receive buffer holds more of the answer, which costs the process nothing.
 */
export const READ_AHEAD_BYTES = 4 << 20;

/**
 * Read campaigns and people now; identities when forEachIdentity is called. The three searches
 * run at once, each on its own connection (the fast paged reader, with the connection's own URL
 * and credentials): slapd answers them in parallel instead of one page at a time. Identities that
 * arrive before forEachIdentity is called wait undecoded (READ_AHEAD_BYTES), so the builder still
 * sees every account before the first identity, and the identities in the order slapd sends them.
 * Every connection is closed after the identities, or on the first failure.
 *
 * Why the searches may overlap: they all start after the caller read the contextCSN (sync.ts),
 * and the map is recorded as built from that contextCSN. Searches one after another never saw one
 * state of the directory either (nor does one paged search: each page is its own operation); a
 * change at any moment after that contextCSN moves it, so the daemon reads everything again.
 */
export async function readDirectory(ldap: LdapConnection, baseDn: string, pageSize = PAGE_SIZE, now = new Date()): Promise<DirectorySnapshot> {
  const layout = new DirectoryLayout(baseDn);
  const { url, bindDn, password, operationTimeoutMs, tlsOptions, startTls } = ldap.options;
  const options = { url, bindDn, password, timeoutMs: operationTimeoutMs ?? 10000, ...(tlsOptions ? { tls: tlsOptions } : {}), ...(startTls ? { startTls } : {}) };
  const readers = [new PagedReader(options), new PagedReader(options), new PagedReader(options)] as const;
  const closeAll = () => Promise.all(readers.map((r) => r.close().catch(() => undefined))).then(() => undefined);
  const [campaignReader, peopleReader, identityReader] = readers;
  const problems: string[] = [];
  // Campaigns' problems before people's, as when the searches ran one after the other; identities' after both.
  const campaignProblems: string[] = [];
  const peopleProblems: string[] = [];
  const accounts = new AccountTable();
  let visitIdentity: ((identity: MapIdentity) => void) | undefined;
  let takeIdentities!: () => void;
  let refuseIdentities!: (err: unknown) => void;
  const taken = new Promise<void>((resolve, reject) => {
    takeIdentities = resolve;
    refuseIdentities = reject;
  });
  taken.catch(() => undefined); // refused before the identities' search began (a connection failed): nobody else waits on it
  let identities: Promise<unknown> | undefined;
  try {
    const opened = readers.map((r) => r.open());
    await Promise.all(opened.map((o) => o.catch(() => undefined)));
    for (const o of opened) await o; // the first failure, after every attempt has settled

    identities = identityReader.search({ base: layout.identities, scope: 'one', equality: ['objectClass', 'cgIdentity'], attributes: IDENTITY_MAP_ATTRIBUTES, pageSize }, (dn, a) => {
      const identity = decodeIdentity(dn, a, layout);
      if (typeof identity === 'string') problems.push(`${dn}: ${identity}`);
      else visitIdentity!(identity);
    }, { until: taken, maxBytes: READ_AHEAD_BYTES });
    identities.catch(() => undefined); // awaited by forEachIdentity; a failure before that is seen there

    const campaigns = campaignReader.search({ base: layout.campaigns, scope: 'one', equality: ['objectClass', 'posixGroup'], attributes: CAMPAIGN_MAP_ATTRIBUTES, pageSize }, (dn, a) => {
      const campaign = decodeCampaign(dn, a, layout);
      if (typeof campaign === 'string') return void campaignProblems.push(`${dn}: ${campaign}`);
      for (const member of campaign.members) {
        // A membership past its end (cgMemberUntil) no longer counts, though the portal's hourly
        // expiry job may not have removed the memberUid yet: the map drops the gid on the date.
        const until = campaign.memberUntil[member];
        if (until && until.getTime() <= now.getTime()) continue;
        accounts.addMembership(member, campaign.gidNumber);
      }
    });
    const people = peopleReader.search({ base: layout.people, scope: 'one', equality: ['objectClass', 'posixAccount'], attributes: PERSON_MAP_ATTRIBUTES, pageSize }, (dn, a) => {
      const person = decodePerson(dn, a, layout);
      if (typeof person === 'string') return void peopleProblems.push(`${dn}: ${person}`);
      accounts.setPerson(person.username, person.uidNumber, person.gidNumber, isActive(person.status));
    });
    await Promise.all([campaigns, people]);
    accounts.seal();
    for (const p of [...campaignProblems, ...peopleProblems]) problems.push(p);
  } catch (err) {
    refuseIdentities(err);
    await closeAll();
    throw err;
  }
  const done = identities!.then(() => undefined).finally(closeAll);
  done.catch(() => undefined); // a failure before forEachIdentity is called is answered there
  return {
    accounts,
    problems,
    forEachIdentity: (visit) => {
      visitIdentity = visit;
      takeIdentities();
      return done;
    },
  };
}
