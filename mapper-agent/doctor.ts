/**
 * `mapper-agent doctor`: checks of this node's set-up that no single command would notice, each
 * with what to do: can the dCache user read the map (owner, group, mode of the file and of every
 * directory above it); does this host's clock agree with the directory server's; are dCache's OIDC
 * providers on a profile that brings no name-like principals, and known under the aliases the map uses.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { LdapConnection } from '../core/ldap/connection.js';
import type { AgentConfig } from './config.js';
import { checkClock } from './clock.js';

export interface Finding {
  ok: boolean;
  check: string;
  detail: string;
}

export interface Account {
  uid: number;
  groups: number[];
}

/** uid and every group id of a local or NSS account (`id`), or undefined when it does not exist. */
export function lookupAccount(name: string): Account | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', '--', name], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
    const groups = execFileSync('id', ['-G', '--', name], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().split(/\s+/).map(Number);
    return { uid, groups };
  } catch {
    return undefined;
  }
}

/** Whether `who` may read `path`: read on the file, search (x) on every directory above it; the first obstacle otherwise. */
export function readableBy(path: string, who: Account): { ok: true } | { ok: false; obstacle: string } {
  if (who.uid === 0) return { ok: true };
  const allows = (p: string, bit: 4 | 1): boolean => {
    const st = statSync(p);
    const shift = st.uid === who.uid ? 6 : who.groups.includes(st.gid) ? 3 : 0;
    return ((st.mode >> shift) & bit) !== 0;
  };
  const chain: string[] = [];
  for (let d = dirname(resolve(path)); ; d = dirname(d)) {
    chain.unshift(d);
    if (d === dirname(d)) break;
  }
  for (const d of chain) if (!allows(d, 1)) return { ok: false, obstacle: `cannot enter ${d}` };
  return allows(path, 4) ? { ok: true } : { ok: false, obstacle: `cannot read ${path}` };
}

export async function runDoctor(cfg: AgentConfig, ldap: LdapConnection): Promise<Finding[]> {
  const findings: Finding[] = [];
  const user = cfg.agent.dcacheUser;
  const account = lookupAccount(user);
  for (const path of [cfg.agent.multimapPath, cfg.agent.gridMapfilePath].filter(Boolean)) {
    const check = `dCache user ${user} can read ${path}`;
    if (!account) {
      findings.push({ ok: false, check, detail: `no account ${user} on this host: set agent.dcacheUser to the user dCache runs as` });
      continue;
    }
    try {
      const r = readableBy(path, account);
      const st = statSync(path);
      const what = `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
      findings.push(r.ok ? { ok: true, check, detail: what } : { ok: false, check, detail: `${r.obstacle} (map is ${what}): set agent.mapFileOwnership, e.g. { gid: <${user}'s group>, mode: '0640' }` });
    } catch (err) {
      findings.push({ ok: false, check, detail: `${(err as NodeJS.ErrnoException).code ?? (err as Error).message}: run mapper-agent sync first` });
    }
  }
  findings.push(...checkOidcProviders(cfg.agent.dcacheConfigFiles, Object.values(cfg.agent.oidcAliases)));
  findings.push(...checkLandingPrivacy(cfg.agent.ingest.roots));
  if (cfg.agent.ingest.roots.length) {
    const { fileBackend } = await import('./ingest/safe-file.js');
    const native = fileBackend.name === 'native';
    // the pure-JS path keeps every rule, only slower: worth a note, not a failure
    findings.push({ ok: true, check: 'ingest file primitives', detail: native ? `native (${fileBackend.why})` : `pure JS (native ${fileBackend.why}); ingest and lifting are slower` });
  }
  if (cfg.ldap.passwordFile) findings.push(checkSecretFile(cfg.ldap.passwordFile));
  const reachable = await ldap.ping(cfg.ldap.baseDn).then(() => undefined, (err: Error) => err.message);
  findings.push({ ok: !reachable, check: `directory ${cfg.ldap.url ?? '(managed slapd)'}${cfg.ldap.startTls ? ' with StartTLS' : ''}`, detail: reachable ?? 'reachable, bound as the agent' });
  const clock = await checkClock(ldap, cfg.agent.ingest.maxClockSkewSeconds);
  findings.push({ ok: clock.ok, check: "this host's clock agrees with the directory server's", detail: clock.ok ? `skew ${clock.skewSeconds} s` : clock.reason });
  return findings;
}

/** `gplazma.oidc.provider!ALIAS = URL [options]` lines of dCache's configuration (dcache.conf, layout files). */
export function oidcProviders(paths: string[]): { alias: string; profile: string; where: string }[] | undefined {
  const files: string[] = [];
  for (const p of paths) {
    try {
      if (statSync(p).isDirectory()) files.push(...readdirSync(p).filter((n) => n.endsWith('.conf')).map((n) => join(p, n)));
      else files.push(p);
    } catch {
      // not on this host
    }
  }
  if (!files.length) return undefined;
  const out: { alias: string; profile: string; where: string }[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    // Continuation lines (trailing backslash) are joined, as dCache's properties reader does.
    text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).forEach((line) => {
      const m = /^\s*gplazma\.oidc\.provider!([^\s=]+)\s*=\s*(.*)$/.exec(line);
      if (m) out.push({ alias: m[1]!, profile: /(?:^|\s)-profile=(\S+)/.exec(m[2]!)?.[1] ?? 'oidc', where: file });
    });
  }
  return out;
}

/**
 * The default `oidc` profile turns a token's `name` and `email` claims into principals, and a map's
 * `dn:` line matches any principal of that name (docs/dcache.md): only `wlcg` (or `scitokens`) is safe.
 */
export function checkOidcProviders(paths: string[], aliasesUsed: string[]): Finding[] {
  const providers = oidcProviders(paths);
  const check = "dCache's OIDC providers";
  if (!providers) return [{ ok: true, check, detail: `not checked: none of ${paths.join(', ')} is readable on this host` }];
  const findings: Finding[] = providers.map((p) => (p.profile === 'oidc'
    ? { ok: false, check: `${check}: ${p.alias}`, detail: `-profile=${p.profile} (${p.where}) adds the token's name and email as principals, which a dn: line matches: use -profile=wlcg -prefix=…` }
    : { ok: true, check: `${check}: ${p.alias}`, detail: `-profile=${p.profile}` }));
  for (const alias of new Set(aliasesUsed)) {
    if (!providers.some((p) => p.alias === alias)) findings.push({ ok: false, check: `${check}: ${alias}`, detail: `agent.oidcAliases uses ${alias}, but no gplazma.oidc.provider!${alias} is configured: its oidc: lines never match` });
  }
  return findings;
}

/**
 * Files arrive with whatever mode their pipeline gave them (often 0644): until the agent has seen a
 * file, only its directories protect it. A data root that the world may enter (o+x) lets anyone
 * read such a file by name; docs/ingest.md, "Landing areas".
 */
export function checkLandingPrivacy(roots: string[]): Finding[] {
  return roots.map((root) => {
    const check = `data root ${root} keeps new files private until ingest`;
    try {
      const mode = statSync(root).mode & 0o777;
      return (mode & 0o005) === 0
        ? { ok: true, check, detail: (mode).toString(8).padStart(4, '0') }
        : { ok: false, check, detail: `mode ${mode.toString(8).padStart(4, '0')} lets anyone ${mode & 0o004 ? 'list and ' : ''}enter it: files arriving 0644 are readable before the agent sees them; make landing directories 0750 or 2750 with a group the world is not in` };
    } catch (err) {
      return { ok: false, check, detail: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
    }
  });
}

/** A secret (the LDAP bind password) readable by its owner only. */
export function checkSecretFile(path: string): Finding {
  const check = `secret ${path} is readable by its owner only`;
  try {
    const mode = statSync(path).mode & 0o777;
    return (mode & 0o077) === 0 ? { ok: true, check, detail: mode.toString(8).padStart(4, '0') } : { ok: false, check, detail: `mode ${mode.toString(8).padStart(4, '0')}: chmod 0600 ${path}` };
  } catch (err) {
    return { ok: false, check, detail: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
}
