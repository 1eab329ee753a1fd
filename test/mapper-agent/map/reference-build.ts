/**
 * The map builder as it was before the merge-at-the-end rewrite (mapper-agent/map/build.ts at
 * 3a74a4e: a Map from key to account object, conflicts found per claim), kept only as the
 * reference the equivalence test holds the current builder to. Not used by the agent.
 */
import type { MapAccount, MapIdentity } from '../../../mapper-agent/map/directory-reader.js';
import { accountSuffix, dnPredicate, formatGridMapLine, oidcPredicate, quote } from '../../../mapper-agent/map/multimap-format.js';
import type { TextSink } from '../../../mapper-agent/map/atomic-write.js';
import { isActive } from '../../../core/directory/status.js';

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

const MULTIMAP_HEADER = '# gPlazma multimap written by campaign-guard mapper-agent from LDAP. Do not edit: changes are overwritten.\n';

/** The snapshot as the reference builder took it: accounts as a Map of objects. */
export interface ReferenceSnapshot {
  accounts: Map<string, MapAccount>;
  forEachIdentity(visit: (identity: MapIdentity) => void): Promise<void>;
  problems: string[];
}

export async function referenceBuildMap(snapshot: ReferenceSnapshot, options: BuildOptions): Promise<BuiltMap> {
  const skipped = { suspended: 0, revoked: 0, orphaned: 0, unmapped: 0, conflicting: 0, invalid: 0 };
  const problems: string[] = [];
  const byKey = new Map<string, MapAccount | null>(); // null: claimed by two accounts
  const explained = new Set<string>();
  const aliases = normaliseAliases(options.oidcAliases);

  const claim = (predicate: string, account: MapAccount) => {
    const previous = byKey.get(predicate);
    if (previous === null) return void skipped.conflicting++;
    if (previous && previous !== account) {
      byKey.set(predicate, null);
      skipped.conflicting += 2;
      problems.push(`${predicate}: claimed by both ${previous.username} and ${account.username}; left out for both`);
      return;
    }
    byKey.set(predicate, account);
  };
  await snapshot.forEachIdentity((identity) => {
    const account = snapshot.accounts.get(identity.owner);
    if (!account) {
      skipped.orphaned++;
      problems.push(`${describe(identity)}: owner ${identity.owner} does not exist`);
      return;
    }
    if (!account.active || !isActive(identity.status)) {
      const key = keyOf(identity, aliases);
      if (key) explained.add(key);
      for (const form of identity.certSubjectForms ?? []) explained.add(`dn:${form}`);
      return void (account.active ? skipped.revoked++ : skipped.suspended++);
    }
    const ref = identity.ref;
    // The other forms dCache may compute for the subject (JDK 17 decodings) map to the same account.
    for (const form of identity.certSubjectForms ?? []) {
      const p = dnPredicate(form);
      if (typeof p === 'string') claim(p, account);
    }
    let predicate;
    if (ref.type === 'x509') predicate = dnPredicate(ref.subject);
    else {
      const alias = aliases.get(ref.issuer.replace(/\/+$/, ''));
      if (!alias) {
        skipped.unmapped++;
        problems.push(`${describe(identity)}: issuer has no gPlazma alias in agent.oidcAliases`);
        return;
      }
      predicate = oidcPredicate(ref.subject, alias);
    }
    if (typeof predicate !== 'string') {
      skipped.invalid++;
      problems.push(`${describe(identity)}: ${predicate.refused}`);
      return;
    }
    claim(predicate, account);
  });
  for (const p of snapshot.problems) problems.push(p);
  skipped.invalid += snapshot.problems.length;
  skipped.conflicting += leaveOutCrossMatches(byKey, problems);

  for (const [k, a] of byKey) if (a === null) explained.add(k);
  const keys = [...byKey.keys()].filter((k) => byKey.get(k) !== null).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const suffixes = new Map<MapAccount, string>();
  const suffixOf = (a: MapAccount) => {
    let s = suffixes.get(a);
    if (s === undefined) suffixes.set(a, (s = accountSuffix(a.username, a.uidNumber, a.gidNumber, a.campaignGids)));
    return s;
  };
  const gridCandidates = keys.filter((k) => {
    if (!k.startsWith('dn:')) return false;
    const ok = typeof formatGridMapLine(k.slice(3), 'x') === 'string';
    if (!ok) problems.push(`${k}: not in the grid-mapfile: a grid-mapfile cannot hold a DN with a double quote`);
    return ok;
  });
  const gridKeys = withoutGridMapfileClashes(gridCandidates, (k) => byKey.get(k)!, problems);

  return {
    lines: keys.length,
    gridLines: gridKeys.length,
    skipped,
    problems,
    explained,
    writeMultimap(sink) {
      sink.write(MULTIMAP_HEADER);
      for (const k of keys) sink.write(`${quote(k)}${suffixOf(byKey.get(k)!)}\n`);
    },
    writeGridMapfile(sink) {
      for (const k of gridKeys) sink.write(`${formatGridMapLine(k.slice(3), byKey.get(k)!.username) as string}\n`);
    },
    writeJson(sink) {
      sink.write('[');
      keys.forEach((k, i) => {
        const a = byKey.get(k)!;
        sink.write(`${i ? ',' : ''}\n ${JSON.stringify({ key: k, kind: k.startsWith('dn:') ? 'x509' : 'oidc', username: a.username, uid: a.uidNumber, gid: a.gidNumber, gids: a.campaignGids })}`);
      });
      sink.write('\n]\n');
    },
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
 */
function leaveOutCrossMatches(byKey: Map<string, MapAccount | null>, problems: string[]): number {
  let left = 0;
  const clash = (mine: string, theirs: string, why: string) => {
    const a = byKey.get(mine);
    const b = byKey.get(theirs);
    if (!a || !b || a === b) return;
    byKey.set(mine, null);
    byKey.set(theirs, null);
    left += 2;
    problems.push(`a login of ${a.username} (${mine}) would also match ${b.username}'s ${theirs}: ${why}; both left out`);
  };
  for (const key of [...byKey.keys()]) {
    if (!key.startsWith('oidc:')) continue;
    const value = key.slice('oidc:'.length);
    const sub = value.slice(0, value.lastIndexOf('@'));
    clash(key, `dn:${value}`, 'a dn: line matches any principal of that name, and an OIDC login is named sub@alias');
    clash(key, `oidc:${sub}`, 'an oidc: line also matches a login from any provider whose sub is the whole value');
  }
  return left;
}

/**
 * The classic grid-mapfile (dCache up to 11.2, gplazma2-grid GridMapFile) keys every DN by
 * capitalizeLabels: each "/LABEL=" span upper-cased, so DNs that differ only there are one key and
 * the first line wins. Such DNs of different accounts are left out of the grid-mapfile, and reported.
 */
function withoutGridMapfileClashes(keys: string[], accountOf: (key: string) => MapAccount, problems: string[]): string[] {
  const byGridKey = new Map<string, string[]>();
  for (const k of keys) {
    const gk = k.slice(3).trim().replace(/\/[^=]+=/g, (label) => label.toUpperCase());
    byGridKey.set(gk, [...(byGridKey.get(gk) ?? []), k]);
  }
  const out = new Set(keys);
  for (const [gk, ks] of byGridKey) {
    if (new Set(ks.map(accountOf)).size < 2) continue;
    for (const k of ks) out.delete(k);
    problems.push(`${ks.join(', ')} (${ks.map((k) => accountOf(k).username).join(', ')}): the same key ${JSON.stringify(gk)} in a grid-mapfile, which upper-cases every /LABEL=; left out of the grid-mapfile`);
  }
  return keys.filter((k) => out.has(k));
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
