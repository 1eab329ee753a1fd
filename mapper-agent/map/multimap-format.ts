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
  const out = Buffer.allocUnsafe(longestSuffix(username, secondaryGids));
  return out.toString('latin1', 0, accountSuffixInto(out, 0, username, uid, primaryGid, secondaryGids));
}

/**
 * accountSuffix() as bytes into out at `at` (the map writer's, no string per line): the end, or -1
 * when out may be too short. The one writer of the format (a username and ids are ASCII).
 */
export function accountSuffixInto(out: Buffer, at: number, username: string, uid: number, primaryGid: number, secondaryGids: number[]): number {
  if (!NAME_PATTERN.test(username)) throw new Error(`username ${JSON.stringify(username)} is not a POSIX name`);
  // Each id checked in turn (no array of them made per line).
  checkId(uid);
  checkId(primaryGid);
  for (let i = 0; i < secondaryGids.length; i++) checkId(secondaryGids[i]!);
  if (at + longestSuffix(username, secondaryGids) > out.length) return -1;
  at = asciiInto(' username:', out, at);
  at = asciiInto(username, out, at);
  at = asciiInto(' uid:', out, at);
  at = digitsInto(uid, out, at);
  at = asciiInto(' gid:', out, at);
  at = digitsInto(primaryGid, out, at);
  at = asciiInto(',true', out, at);
  for (const g of secondaryGids) {
    if (g === primaryGid) continue;
    at = asciiInto(' gid:', out, at);
    at = digitsInto(g, out, at);
  }
  return at;
}

function checkId(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xfffffffe) throw new Error(`not a POSIX id: ${n}`);
}

/** An ASCII string's bytes into out at `at`; the end. A loop: these strings are a few bytes, shorter than a native call is worth. */
function asciiInto(text: string, out: Buffer, at: number): number {
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  return at;
}

/** The longest a suffix can be: 45 bytes of labels and two ids of up to 10 digits, 15 per secondary gid. */
function longestSuffix(username: string, secondaryGids: number[]): number {
  return 45 + username.length + 15 * secondaryGids.length;
}

/** The decimal digits of a non-negative integer (at most 10 of them: a POSIX id) into out at `at`; the end. */
function digitsInto(n: number, out: Buffer, at: number): number {
  let end = at + 1;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) end++;
  for (let i = end - 1; i >= at; i--) {
    out[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}

export function formatLine(line: MapLine): string {
  return quote(line.predicate) + accountSuffix(line.username, line.uid, line.primaryGid, line.secondaryGids);
}

/** The one character a grid-mapfile line cannot hold in a DN (it has no escaping); the builder checks keys' bytes for it. */
export const GRID_MAPFILE_UNWRITABLE = '"';

/** Classic grid-mapfile line `"DN" user`; it has no escaping, so a DN holding `"` cannot be written. */
export function formatGridMapLine(subject: string, username: string): string | { refused: string } {
  if (subject.includes(GRID_MAPFILE_UNWRITABLE)) return { refused: 'a grid-mapfile cannot hold a DN with a double quote' };
  return `"${subject}" ${username}`;
}
