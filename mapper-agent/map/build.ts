/**
 * Builds the map outputs from a directory snapshot: gPlazma multimap, optional grid-mapfile and
 * JSON snapshot. Deterministic: lines are sorted, so an unchanged directory gives byte-identical
 * files. Left out, each with a reason in `problems`: suspended accounts, revoked or expired
 * identities, identities whose owner is gone, OIDC issuers without a configured alias, values the
 * format cannot hold, and any map key claimed by two different accounts (both left out: a login
 * must resolve to exactly one account, and guessing which one would be worse than none).
 */
import type { DirectorySnapshot, MapAccount, MapIdentity } from './directory-reader.js';
import { dnPredicate, formatGridMapLine, formatLine, oidcPredicate } from './multimap-format.js';

export interface BuildOptions {
  /** issuer URL -> gPlazma provider alias */
  oidcAliases: Record<string, string>;
  now?: Date;
  gridMapfile?: boolean;
  jsonSnapshot?: boolean;
}

export interface MapEntry {
  key: string;
  kind: 'x509' | 'oidc';
  username: string;
  uid: number;
  gid: number;
  gids: number[];
}

export interface BuiltMap {
  multimap: string;
  gridMapfile?: string;
  json?: string;
  lines: number;
  skipped: { suspended: number; revoked: number; expired: number; orphaned: number; unmapped: number; conflicting: number; invalid: number };
  /** one line per left-out identity that needs an operator's attention (not for suspended/revoked/expired) */
  problems: string[];
}

export const MULTIMAP_HEADER = '# gPlazma multimap written by campaign-guard mapper-agent from LDAP. Do not edit: changes are overwritten.\n';

export async function buildMap(snapshot: DirectorySnapshot, options: BuildOptions): Promise<BuiltMap> {
  const now = (options.now ?? new Date()).getTime();
  const skipped = { suspended: 0, revoked: 0, expired: 0, orphaned: 0, unmapped: 0, conflicting: 0, invalid: 0 };
  const problems: string[] = [];
  const byKey = new Map<string, MapEntry | null>(); // null: claimed by two accounts

  const accept = (identity: MapIdentity, account: MapAccount): void => {
    const predicate = identity.type === 'x509' ? dnPredicate(identity.subject) : aliasFor(identity, options, problems, skipped);
    if (predicate === undefined) return;
    if (typeof predicate !== 'string') {
      skipped.invalid++;
      problems.push(`${describe(identity)}: left out: ${predicate.refused}`);
      return;
    }
    const previous = byKey.get(predicate);
    if (previous === null) return;
    if (previous && previous.username !== account.username) {
      byKey.set(predicate, null);
      skipped.conflicting += 2;
      problems.push(`${predicate}: claimed by both ${previous.username} and ${account.username}; left out for both`);
      return;
    }
    byKey.set(predicate, { key: predicate, kind: identity.type, username: account.username, uid: account.uidNumber, gid: account.gidNumber, gids: account.campaignGids });
  };

  for await (const page of snapshot.identities) {
    for (const identity of page) {
      const account = snapshot.accounts.get(identity.ownerDn);
      if (!account) {
        skipped.orphaned++;
        problems.push(`${describe(identity)}: owner ${identity.ownerDn} does not exist`);
      } else if (!account.active) skipped.suspended++;
      else if (!identity.active) skipped.revoked++;
      else if (identity.type === 'x509' && identity.notAfter && identity.notAfter.getTime() < now) skipped.expired++;
      else accept(identity, account);
    }
  }
  problems.push(...snapshot.problems.map((p) => `${p}: left out`));
  skipped.invalid += snapshot.problems.length;

  const entries = [...byKey.values()].filter((e): e is MapEntry => e !== null).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const lines = entries.map((e) => formatLine({ predicate: e.key, username: e.username, uid: e.uid, primaryGid: e.gid, secondaryGids: e.gids }));
  const built: BuiltMap = { multimap: MULTIMAP_HEADER + lines.map((l) => `${l}\n`).join(''), lines: lines.length, skipped, problems };

  if (options.gridMapfile) {
    const grid: string[] = [];
    for (const e of entries) {
      if (e.kind !== 'x509') continue;
      const line = formatGridMapLine(e.key.slice('dn:'.length), e.username);
      if (typeof line === 'string') grid.push(line);
      else problems.push(`${e.key}: not in the grid-mapfile: ${line.refused}`);
    }
    built.gridMapfile = grid.map((l) => `${l}\n`).join('');
  }
  if (options.jsonSnapshot) built.json = `${JSON.stringify(entries, null, 1)}\n`;
  return built;
}

function aliasFor(identity: Extract<MapIdentity, { type: 'oidc' }>, options: BuildOptions, problems: string[], skipped: BuiltMap['skipped']): ReturnType<typeof oidcPredicate> | undefined {
  const alias = options.oidcAliases[identity.issuer] ?? options.oidcAliases[identity.issuer.replace(/\/+$/, '')] ?? options.oidcAliases[`${identity.issuer.replace(/\/+$/, '')}/`];
  if (!alias) {
    skipped.unmapped++;
    problems.push(`${describe(identity)}: issuer has no gPlazma alias in agent.oidcAliases; left out`);
    return undefined;
  }
  return oidcPredicate(identity.subject, alias);
}

function describe(identity: MapIdentity): string {
  return identity.type === 'x509' ? `certificate ${JSON.stringify(identity.subject)}` : `OIDC ${JSON.stringify(identity.subject)} at ${identity.issuer}`;
}
