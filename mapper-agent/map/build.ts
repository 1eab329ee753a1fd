/**
 * Builds the map outputs from a directory snapshot: gPlazma multimap, optional grid-mapfile and
 * JSON snapshot. Deterministic: keys are sorted, so an unchanged directory gives byte-identical
 * files. Memory: no object per key or account. Each claim of a key is kept as its value's UTF-8
 * bytes and a few numbers off the JavaScript heap (claims.ts); after the read the claims are sorted
 * once and merged: equal keys meet there, so a key two accounts claim is found at that merge, with
 * the same counts and messages, in the same order, as a lookup per claim would give. Accounts are
 * flat tables (account-table.ts). Lines are produced while writing (straight into the file).
 *
 * Left out, each counted, and with a reason in `problems` where an operator should look:
 * accounts and identities that are not active (core/directory/status.ts: suspended, expired,
 * pending, deleted, unknown, revoked), identities whose owner is gone, OIDC issuers without a
 * configured alias, values the format cannot hold, and any map key claimed by two
 * different accounts (both left out: a login must resolve to exactly one account, and guessing
 * which one would be worse than none).
 *
 * A certificate's expiry is no reason to leave a DN out: the subject is the identity, a certificate
 * only a credential for it. A renewed certificate keeps its subject, and dCache refuses an expired
 * certificate at TLS by itself, so dropping the DN when the last certificate seen expires gains
 * nothing and locks out everyone who renewed without logging in to the portal since.
 */
import type { AccountLookup, DirectorySnapshot, MapAccount, MapIdentity } from './directory-reader.js';
import { AccountTable } from './account-table.js';
import { AccountSuffixes } from './account-suffixes.js';
import { Claims, type MergedKeys } from './claims.js';
import { accountSuffix, dnPredicate, formatGridMapLine, GRID_MAPFILE_UNWRITABLE, oidcPredicate, quote } from './multimap-format.js';
import type { TextSink } from './atomic-write.js';
import { isActive } from '../../core/directory/status.js';

export interface BuildOptions {
  /** issuer URL -> gPlazma provider alias */
  oidcAliases: Record<string, string>;
  /** Not used for any rule any more (certificate expiry does not leave a DN out); accepted for callers. */
  now?: Date;
}

export interface BuiltMap {
  lines: number;
  /** lines the grid-mapfile will have (x509 identities whose DN it can hold) */
  gridLines: number;
  skipped: { suspended: number; revoked: number; orphaned: number; unmapped: number; conflicting: number; invalid: number };
  problems: string[];
  /** keys left out for a reason the directory gives (inactive account or identity, a key two accounts claim): the shrink guard does not count them */
  explained: ReadonlySet<string>;
  writeMultimap(sink: TextSink): void;
  writeGridMapfile(sink: TextSink): void;
  writeJson(sink: TextSink): void;
}

export const MULTIMAP_HEADER = '# gPlazma multimap written by campaign-guard mapper-agent from LDAP. Do not edit: changes are overwritten.\n';

export async function buildMap(snapshot: DirectorySnapshot, options: BuildOptions): Promise<BuiltMap> {
  const skipped = { suspended: 0, revoked: 0, orphaned: 0, unmapped: 0, conflicting: 0, invalid: 0 };
  const owners = ownersOf(snapshot.accounts);
  const suffixes = new AccountSuffixes(owners);
  // Problems found per identity, each with the number of claims made before it: the messages about
  // keys claimed twice, found at the merge, go back in between them where a lookup per claim would have put them.
  const streamed: string[] = [];
  const streamedAt: number[] = [];
  const explained = new Set<string>();
  const aliases = normaliseAliases(options.oidcAliases);
  // Keys without their prefix: every `dn:` key sorts before every `oidc:` key, and within one type the prefix changes no order.
  const dn = new Claims('dn:', '/');
  const oidc = new Claims('oidc:');
  let claims = 0;
  const problem = (text: string) => {
    streamed.push(text);
    streamedAt.push(claims);
  };

  await snapshot.forEachIdentity((identity) => {
    const account = owners.indexOf(identity.owner);
    if (account < 0) {
      skipped.orphaned++;
      problem(`${describe(identity)}: owner ${identity.owner} does not exist`);
      return;
    }
    if (!owners.active(account) || !isActive(identity.status)) {
      const key = keyOf(identity, aliases);
      if (key) explained.add(key);
      for (const form of identity.certSubjectForms ?? []) explained.add(`dn:${form}`);
      return void (owners.active(account) ? skipped.revoked++ : skipped.suspended++);
    }
    suffixes.prepare(account);
    const ref = identity.ref;
    // The other forms dCache may compute for the subject (JDK 17 decodings) map to the same account.
    for (const form of identity.certSubjectForms ?? []) {
      if (typeof dnPredicate(form) === 'string') dn.add(form, account, claims++);
    }
    if (ref.type === 'x509') {
      const predicate = dnPredicate(ref.subject);
      if (typeof predicate !== 'string') {
        skipped.invalid++;
        problem(`${describe(identity)}: ${predicate.refused}`);
        return;
      }
      dn.add(ref.subject, account, claims++);
      return;
    }
    const alias = aliases.get(ref.issuer.replace(/\/+$/, ''));
    if (!alias) {
      skipped.unmapped++;
      problem(`${describe(identity)}: issuer has no gPlazma alias in agent.oidcAliases`);
      return;
    }
    const predicate = oidcPredicate(ref.subject, alias);
    if (typeof predicate !== 'string') {
      skipped.invalid++;
      problem(`${describe(identity)}: ${predicate.refused}`);
      return;
    }
    oidc.add(`${ref.subject}@${alias}`, account, claims++);
  });

  const conflicts: { at: number; text: string }[] = [];
  const usernameOf = (o: number) => owners.username(o);
  const dnKeys = dn.merge(usernameOf, conflicts);
  const oidcKeys = oidc.merge(usernameOf, conflicts);
  skipped.conflicting += dnKeys.conflicting + oidcKeys.conflicting;
  conflicts.sort((a, b) => a.at - b.at);
  const problems: string[] = [];
  let c = 0;
  for (let i = 0; i < streamed.length; i++) {
    while (c < conflicts.length && conflicts[c]!.at < streamedAt[i]!) problems.push(conflicts[c++]!.text);
    problems.push(streamed[i]!);
  }
  while (c < conflicts.length) problems.push(conflicts[c++]!.text);

  for (const p of snapshot.problems) problems.push(p);
  skipped.invalid += snapshot.problems.length;
  skipped.conflicting += leaveOutMergedCrossMatches(dnKeys, oidcKeys, owners, problems);

  for (const keys of [dnKeys, oidcKeys]) {
    for (let i = 0; i < keys.size; i++) if (keys.out[i]) explained.add(keys.key(i));
  }

  // The grid-mapfile: DNs it can hold (no double quote), then without those its /LABEL= upper-casing would merge across accounts.
  const gridOut = new Uint8Array(dnKeys.size);
  const candidates: number[] = [];
  for (let i = 0; i < dnKeys.size; i++) {
    if (dnKeys.out[i]) continue;
    if (!dnKeys.hasByte(i, GRID_MAPFILE_UNWRITABLE.charCodeAt(0))) candidates.push(i); // formatGridMapLine's refusal, without a string per key
    else {
      gridOut[i] = 1;
      problems.push(`${dnKeys.key(i)}: not in the grid-mapfile: a grid-mapfile cannot hold a DN with a double quote`);
    }
  }
  const clashing = gridClashes(dnKeys, candidates, (o) => owners.username(o), problems);
  for (const i of clashing) gridOut[i] = 1;

  let lines = 0;
  for (const keys of [dnKeys, oidcKeys]) for (let i = 0; i < keys.size; i++) if (!keys.out[i]) lines++;

  return {
    lines,
    gridLines: candidates.length - clashing.size,
    skipped,
    problems,
    explained,
    writeMultimap(sink) {
      sink.write(MULTIMAP_HEADER);
      writeMultimapLines(sink, [dnKeys, oidcKeys], owners, suffixes);
    },
    writeGridMapfile(sink) {
      for (let i = 0; i < dnKeys.size; i++) {
        if (!dnKeys.out[i] && !gridOut[i]) sink.write(`${formatGridMapLine(dnKeys.value(i), owners.username(dnKeys.owner[i]!)) as string}\n`);
      }
    },
    writeJson(sink) {
      sink.write('[');
      let n = 0;
      for (const keys of [dnKeys, oidcKeys]) {
        for (let i = 0; i < keys.size; i++) {
          if (keys.out[i]) continue;
          const o = keys.owner[i]!;
          const k = keys.key(i);
          sink.write(`${n++ ? ',' : ''}\n ${JSON.stringify({ key: k, kind: k.startsWith('dn:') ? 'x509' : 'oidc', username: owners.username(o), uid: owners.uidNumber(o), gid: owners.gidNumber(o), gids: owners.campaignGids(o) })}`);
        }
      }
      sink.write('\n]\n');
    },
  };
}

const LINE_CHUNK = 1 << 16;

/**
 * The multimap's lines as bytes: each key straight from the claims' UTF-8 (quoted as quote() does),
 * its account's suffix copied from the bytes made during the read (account-suffixes.ts). No string
 * per line: lines are in key order, an account's lines spread over the file.
 */
function writeMultimapLines(sink: TextSink, keysOfEachType: MergedKeys[], owners: Owners, suffixes: AccountSuffixes): void {
  const out = Buffer.allocUnsafe(LINE_CHUNK);
  let at = 0;
  const flush = () => {
    if (at) sink.writeBytes(out.subarray(0, at));
    at = 0;
  };
  /** key i and its owner's suffix at `from`: the end, or -1 when the chunk is too short */
  const lineInto = (keys: MergedKeys, i: number, o: number, from: number) => {
    let end = keys.quotedInto(i, out, from);
    if (end >= 0) end = suffixes.into(out, end, o);
    if (end < 0 || end >= out.length) return -1;
    out[end] = 10;
    return end + 1;
  };
  for (const keys of keysOfEachType) {
    for (let i = 0; i < keys.size; i++) {
      if (keys.out[i]) continue;
      const o = keys.owner[i]!;
      let end = lineInto(keys, i, o, at);
      if (end < 0) {
        flush();
        end = lineInto(keys, i, o, 0);
      }
      if (end >= 0) at = end;
      else sink.write(`${quote(keys.key(i))}${accountSuffix(owners.username(o), owners.uidNumber(o), owners.gidNumber(o), owners.campaignGids(o))}\n`); // longer than a chunk
    }
  }
  flush();
}

/** Accounts by index, as the builder uses them: the reader's AccountTable as it is, any other lookup (tests) by object. */
interface Owners {
  indexOf(username: string): number;
  username(i: number): string;
  uidNumber(i: number): number;
  gidNumber(i: number): number;
  active(i: number): boolean;
  campaignGids(i: number): number[];
}

function ownersOf(accounts: AccountLookup): Owners {
  if (accounts instanceof AccountTable) return accounts;
  const ids = new Map<MapAccount, number>();
  const list: MapAccount[] = [];
  return {
    indexOf(username) {
      const a = accounts.get(username);
      if (!a) return -1;
      let i = ids.get(a);
      if (i === undefined) {
        i = list.length;
        ids.set(a, i);
        list.push(a);
      }
      return i;
    },
    username: (i) => list[i]!.username,
    uidNumber: (i) => list[i]!.uidNumber,
    gidNumber: (i) => list[i]!.gidNumber,
    active: (i) => list[i]!.active,
    campaignGids: (i) => list[i]!.campaignGids,
  };
}

/**
 * Lines a login of ANOTHER account would match in dCache, left out for both accounts (returns how
 * many lines). From dCache's GplazmaMultiMapFile (modules/gplazma2-multimap) matchers:
 *  - `dn:X` is GlobusPrincipal(X)::equals, and SimplePrincipal.equals compares getName() with any
 *    principal: an OIDC login's OidcSubjectPrincipal (and JwtSubPrincipal) is named "sub@op"
 *    (OidcSubjectPrincipal.getName, OpScopedPrincipal), so `dn:X` matches the OIDC login whose
 *    sub@alias is X;
 *  - `oidc:V` matches an OidcSubjectPrincipal whose sub claim equals the whole V ("backwards
 *    compatibility"), besides sub and OP split at the last '@': so `oidc:S@A` also matches a login,
 *    from any provider, whose sub is literally "S@A".
 * A token's `name` and `email` claims become principals too under the default OIDC profile; those
 * are not in the directory: docs/dcache.md says which profile to use, and `doctor` checks it.
 * Works on the merged keys: oidc keys visited in the order of their first claim.
 */
function leaveOutMergedCrossMatches(dn: MergedKeys, oidc: MergedKeys, owners: Owners, problems: string[]): number {
  let left = 0;
  const clash = (mine: number, theirs: MergedKeys, t: number, why: string) => {
    if (oidc.out[mine] || t < 0 || theirs.out[t]) return;
    const a = oidc.owner[mine]!;
    const b = theirs.owner[t]!;
    if (a === b) return;
    oidc.out[mine] = 1;
    theirs.out[t] = 1;
    left += 2;
    problems.push(`a login of ${owners.username(a)} (${oidc.key(mine)}) would also match ${owners.username(b)}'s ${theirs.key(t)}: ${why}; both left out`);
  };
  const byFirstClaim = Array.from({ length: oidc.size }, (_, i) => i).sort((i, j) => oidc.first[i]! - oidc.first[j]!);
  for (const k of byFirstClaim) {
    const value = oidc.value(k);
    const sub = value.slice(0, value.lastIndexOf('@'));
    clash(k, dn, dn.find(value), 'a dn: line matches any principal of that name, and an OIDC login is named sub@alias');
    clash(k, oidc, oidc.find(sub), 'an oidc: line also matches a login from any provider whose sub is the whole value');
  }
  return left;
}

/** Collect a producer's output as a string (dry runs and tests). */
export function render(produce: (sink: TextSink) => void): string {
  const parts: string[] = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  produce({ write: (t) => void parts.push(t), writeBytes: (b) => void parts.push(decoder.decode(b)) });
  return parts.join('');
}

/** The grid-mapfile's key of a DN (gplazma2-grid GridMapFile.capitalizeLabels): trimmed, each "/LABEL=" span upper-cased. */
const gridKey = (dn: string) => dn.trim().replace(/\/[^=]+=/g, (label) => label.toUpperCase());

/**
 * The classic grid-mapfile (dCache up to 11.2, gplazma2-grid GridMapFile) keys every DN by
 * gridKey, so DNs that differ only there are one key and the first line wins. Returns the dn keys
 * (of `candidates`, indices into `dn`) to leave out of it: each group of such keys spanning more
 * than one account, reported. Only a key its grid key changes (a lower-case label, spaces at the
 * ends) can share one with another key: those are found from their bytes (gridKeyMayChange) and
 * computed; the one key whose value is such a grid key already is found by binary search. No
 * string is made for the other keys, which are nearly all of them.
 */
function gridClashes(dn: MergedKeys, candidates: number[], usernameOf: (owner: number) => string, problems: string[]): Set<number> {
  const groups = new Map<string, number[]>();
  for (const i of candidates) {
    if (!dn.gridKeyMayChange(i)) continue;
    const value = dn.value(i);
    const gk = gridKey(value);
    if (gk === value) continue;
    const group = groups.get(gk);
    if (group) group.push(i);
    else groups.set(gk, [i]);
  }
  const clashing = new Set<number>();
  if (!groups.size) return clashing;
  const isCandidate = new Set(candidates);
  for (const [gk, group] of groups) {
    const same = dn.find(gk); // the key whose value is gk, when gk is its own grid key
    if (same >= 0 && isCandidate.has(same) && gridKey(gk) === gk) group.push(same);
    group.sort((a, b) => a - b);
  }
  // In the order of each group's first key, its keys in key order.
  for (const [gk, group] of [...groups].sort((a, b) => a[1][0]! - b[1][0]!)) {
    if (new Set(group.map((i) => dn.owner[i]!)).size < 2) continue;
    for (const i of group) clashing.add(i);
    problems.push(`${group.map((i) => dn.key(i)).join(', ')} (${group.map((i) => usernameOf(dn.owner[i]!)).join(', ')}): the same key ${JSON.stringify(gk)} in a grid-mapfile, which upper-cases every /LABEL=; left out of the grid-mapfile`);
  }
  return clashing;
}

/** The key an identity's line would have (undefined when it could have none). */
function keyOf(identity: MapIdentity, aliases: Map<string, string>): string | undefined {
  const ref = identity.ref;
  if (ref.type === 'x509') {
    const p = dnPredicate(ref.subject);
    return typeof p === 'string' ? p : undefined;
  }
  const alias = aliases.get(ref.issuer.replace(/\/+$/, ''));
  const p = alias ? oidcPredicate(ref.subject, alias) : undefined;
  return typeof p === 'string' ? p : undefined;
}

function normaliseAliases(aliases: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(aliases).map(([issuer, alias]) => [issuer.replace(/\/+$/, ''), alias]));
}

function describe({ ref }: MapIdentity): string {
  return ref.type === 'x509' ? `certificate ${JSON.stringify(ref.subject)}` : `OIDC ${JSON.stringify(ref.subject)} at ${ref.issuer}`;
}
