/**
 * Exact dCache gPlazma multimap lines (modules/gplazma2-multimap, GplazmaMultiMapFile):
 *   "dn:/C=DE/O=Example/CN=Alice Smith" username:alice uid:10001 gid:20001,true gid:30042
 *   "oidc:SUB@ALIAS" username:alice uid:10001 gid:20001,true gid:30042
 * The predicate is always one quoted token with `\` -> `\\` and `"` -> `\"` (unquoted spaces would
 * split it, an unquoted `'` swallows the rest of the line, an unquoted leading `-` is taken as an
 * option). Principals after it are digits or usernames from [a-z0-9._-], which need no quoting.
 * Exactly one `gid:N,true` (primary) per line. Values that cannot be written faithfully are refused
 * with the reason, never altered: control characters, lone surrogates (the file must be valid
 * UTF-8), empty values, OIDC subjects that are not ASCII or longer than 255 characters.
 */
import { NAME_PATTERN } from '../../core/directory/validate.js';

export interface MapLine {
  /** the predicate principal, e.g. `dn:/C=DE/CN=Alice` or `oidc:sub@alias` (unquoted) */
  predicate: string;
  username: string;
  uid: number;
  primaryGid: number;
  secondaryGids: number[];
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a value cannot go into the map, or undefined when it can. */
export function unrepresentable(value: string): string | undefined {
  if (value.length === 0) return 'empty value';
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'control character (newline, tab, NUL, ...)';
  if (LONE_SURROGATE.test(value)) return 'not valid Unicode (lone surrogate)';
  return undefined;
}

export function dnPredicate(subject: string): string | { refused: string } {
  const problem = unrepresentable(subject) ?? (subject.startsWith('/') ? undefined : 'a grid DN starts with /');
  return problem ? { refused: problem } : `dn:${subject}`;
}

/** `oidc:SUB@ALIAS`; dCache splits at the last `@`, so a `@` inside SUB is fine while ALIAS has none. */
export function oidcPredicate(subject: string, alias: string): string | { refused: string } {
  const problem = unrepresentable(subject);
  if (problem) return { refused: problem };
  if (!/^[\x20-\x7e]+$/.test(subject)) return { refused: 'OIDC sub must be printable ASCII' };
  if (subject.length > 255) return { refused: 'OIDC sub longer than 255 characters' };
  if (!/^[A-Za-z0-9._-]+$/.test(alias)) return { refused: `OIDC provider alias ${JSON.stringify(alias)} is not a plain name` };
  return `oidc:${subject}@${alias}`;
}

export function quote(token: string): string {
  return `"${token.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Everything after the predicate: ` username:U uid:N gid:N,true gid:N...`, the same for all of an account's lines. */
export function accountSuffix(username: string, uid: number, primaryGid: number, secondaryGids: number[]): string {
  if (!NAME_PATTERN.test(username)) throw new Error(`username ${JSON.stringify(username)} is not a POSIX name`);
  for (const n of [uid, primaryGid, ...secondaryGids]) {
    if (!Number.isInteger(n) || n < 0 || n > 0xfffffffe) throw new Error(`not a POSIX id: ${n}`);
  }
  const secondary = secondaryGids.filter((g) => g !== primaryGid).map((g) => ` gid:${g}`).join('');
  return ` username:${username} uid:${uid} gid:${primaryGid},true${secondary}`;
}

export function formatLine(line: MapLine): string {
  return quote(line.predicate) + accountSuffix(line.username, line.uid, line.primaryGid, line.secondaryGids);
}

/** Classic grid-mapfile line `"DN" user`; it has no escaping, so a DN holding `"` cannot be written. */
export function formatGridMapLine(subject: string, username: string): string | { refused: string } {
  if (subject.includes('"')) return { refused: 'a grid-mapfile cannot hold a DN with a double quote' };
  return `"${subject}" ${username}`;
}
