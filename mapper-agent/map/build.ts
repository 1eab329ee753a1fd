/**
 * Builds the map outputs from a directory snapshot: gPlazma multimap, optional grid-mapfile and
 * JSON snapshot. Deterministic: keys are sorted, so an unchanged directory gives byte-identical
 * files. Memory: one entry (key -> account) per identity; lines are produced while writing.
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
import type { DirectorySnapshot, MapAccount, MapIdentity } from './directory-reader.js';
import { accountSuffix, dnPredicate, formatGridMapLine, oidcPredicate, quote } from './multimap-format.js';
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
  writeMultimap(sink: TextSink): void;
  writeGridMapfile(sink: TextSink): void;
  writeJson(sink: TextSink): void;
}

export const MULTIMAP_HEADER = '# gPlazma multimap written by campaign-guard mapper-agent from LDAP. Do not edit: changes are overwritten.\n';

export async function buildMap(snapshot: DirectorySnapshot, options: BuildOptions): Promise<BuiltMap> {
  const skipped = { suspended: 0, revoked: 0, orphaned: 0, unmapped: 0, conflicting: 0, invalid: 0 };
  const problems: string[] = [];
  const byKey = new Map<string, MapAccount | null>(); // null: claimed by two accounts
  const aliases = normaliseAliases(options.oidcAliases);

  await snapshot.forEachIdentity((identity) => {
    const account = snapshot.accounts.get(identity.owner);
    if (!account) {
      skipped.orphaned++;
      problems.push(`${describe(identity)}: owner ${identity.owner} does not exist`);
      return;
    }
    if (!account.active) return void skipped.suspended++;
    if (!isActive(identity.status)) return void skipped.revoked++;
    const ref = identity.ref;
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
    const previous = byKey.get(predicate);
    if (previous === null) return void skipped.conflicting++;
    if (previous && previous !== account) {
      byKey.set(predicate, null);
      skipped.conflicting += 2;
      problems.push(`${predicate}: claimed by both ${previous.username} and ${account.username}; left out for both`);
      return;
    }
    byKey.set(predicate, account);
  });
  for (const p of snapshot.problems) problems.push(p);
  skipped.invalid += snapshot.problems.length;

  const keys = [...byKey.keys()].filter((k) => byKey.get(k) !== null).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const suffixes = new Map<MapAccount, string>();
  const suffixOf = (a: MapAccount) => {
    let s = suffixes.get(a);
    if (s === undefined) suffixes.set(a, (s = accountSuffix(a.username, a.uidNumber, a.gidNumber, a.campaignGids)));
    return s;
  };
  const gridKeys = keys.filter((k) => {
    if (!k.startsWith('dn:')) return false;
    const ok = typeof formatGridMapLine(k.slice(3), 'x') === 'string';
    if (!ok) problems.push(`${k}: not in the grid-mapfile: a grid-mapfile cannot hold a DN with a double quote`);
    return ok;
  });

  return {
    lines: keys.length,
    gridLines: gridKeys.length,
    skipped,
    problems,
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

/** Collect a producer's output as a string (dry runs and tests). */
export function render(produce: (sink: TextSink) => void): string {
  const parts: string[] = [];
  produce({ write: (t) => void parts.push(t) });
  return parts.join('');
}

function normaliseAliases(aliases: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(aliases).map(([issuer, alias]) => [issuer.replace(/\/+$/, ''), alias]));
}

function describe({ ref }: MapIdentity): string {
  return ref.type === 'x509' ? `certificate ${JSON.stringify(ref.subject)}` : `OIDC ${JSON.stringify(ref.subject)} at ${ref.issuer}`;
}
