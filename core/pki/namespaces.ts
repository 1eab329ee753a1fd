/**
 * Parsers of the two CA namespace policy formats found in an IGTF trust directory, following
 * eu-emi/canl-java (the library dCache validates certificates with) line by line:
 *  - EUGridPMA `HASH.namespaces` (`EuGridPmaNamespacesParser`): `TO Issuer "DN"|SELF PERMIT|DENY
 *    Subject "REGEX"`, keywords case-insensitive, single spaces or runs of them between tokens,
 *    `\` at the end of a line continues it, `#` starts a comment unless escaped, an optional
 *    `#NAMESPACES-VERSION: 1.0` header (any other version is an error);
 *  - Globus `HASH.signing_policy` (`GlobusNamespacesParser`): `access_id_CA X509 'DN'`, then
 *    `pos_rights globus CA:sign`, then `cond_subjects globus '"PATTERN" "PATTERN" ...'` with `*` and
 *    `?` wildcards; every pattern is a PERMIT.
 * Subjects and issuers are normalized as CANL does (legacy-dn.ts) and matched case-insensitively
 * against the whole normalized subject. A file with a syntax error yields an error and no policy:
 * CANL then treats that CA as having no policy (which the REQUIRE modes refuse).
 */
import { normalizeLegacyDn, wildcardToRegExpSource } from './legacy-dn.js';

export interface NamespacePolicy {
  /** whose CA directory entry this comes from: the 8-hex-digit hash of the file name */
  definedFor: string;
  /** SELF (the CA the file belongs to), or the normalized legacy DN of the issuing CA it speaks about */
  issuer: { self: true } | { dn: string };
  permit: boolean;
  subject: RegExp;
  /** file:entry, for messages */
  id: string;
}

export class PolicySyntaxError extends Error {
  override readonly name = 'PolicySyntaxError';
}

const VERSION_KEY = '#NAMESPACES-VERSION: ';

/** Parse an EUGridPMA namespaces file; `hash` is the 8 hex digits of its file name. */
export function parseEuGridPmaNamespaces(text: string, hash: string, file: string): NamespacePolicy[] {
  const policies: NamespacePolicy[] = [];
  let full = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = stripComments(raw);
    if (line.endsWith('\\') && !line.endsWith('\\\\')) {
      full += line.slice(0, -1);
      continue;
    }
    full += line;
    const entry = full.trim();
    full = '';
    if (!entry) continue;
    const id = `${file}:${policies.length + 1}`;
    const e = parseEntry(entry, id);
    policies.push({
      definedFor: hash,
      issuer: e.issuer === undefined ? { self: true } : { dn: normalizeLegacyDn(e.issuer) },
      permit: e.permit,
      subject: compile(normalizeLegacyDn(e.subject), id),
      id,
    });
  }
  return policies;
}

function stripComments(line: string): string {
  if (line.startsWith(VERSION_KEY)) {
    const version = line.slice(VERSION_KEY.length);
    if (version !== '1.0') throw new PolicySyntaxError(`namespaces policy version ${version} is unsupported`);
    return '';
  }
  for (let i = 0; i < line.length; i++) {
    let escaped = false;
    if (line[i] === '\\' && i < line.length - 1) {
      i++;
      escaped = true;
    }
    if (line[i] === '#' && !escaped) return line.slice(0, i);
  }
  return line;
}

/** One entry: TO ISSUER ("DN" | SELF) (PERMIT | DENY) SUBJECT "REGEX" — the issuer undefined for SELF. */
function parseEntry(line: string, id: string): { issuer: string | undefined; permit: boolean; subject: string } {
  const r = new Reader(line, id);
  r.token('to');
  r.spaces();
  r.token('issuer');
  r.spaces();
  let issuer: string | undefined;
  if (r.peek() === '"') issuer = r.quoted('"');
  else if (!r.tryToken('self')) throw r.error('expected either a quoted issuer DN or the SELF token');
  r.spaces();
  let permit = true;
  if (!r.tryToken('permit')) {
    if (!r.tryToken('deny')) throw r.error('expected PERMIT or DENY');
    permit = false;
  }
  r.spaces();
  r.token('subject');
  r.spaces();
  const subject = r.quoted('"');
  r.end();
  return { issuer, permit, subject };
}

/** Parse a Globus signing_policy (EACL) file; `hash` is the 8 hex digits of its file name. */
export function parseGlobusSigningPolicy(text: string, hash: string, file: string): NamespacePolicy[] {
  const policies: NamespacePolicy[] = [];
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const meaningful = (l: string) => l !== '' && !l.startsWith('#');
  for (let i = 0; i < lines.length; i++) {
    if (!meaningful(lines[i]!) || !lines[i]!.startsWith('access_id_CA')) continue;
    const ca = new Reader(lines[i]!, `${file}:${i + 1}`);
    ca.token('access_id_CA', true);
    ca.spaces(true);
    ca.token('X509', true);
    ca.spaces(true);
    const issuer = ca.globusQuoted("'");
    ca.end();
    const next = () => {
      while (++i < lines.length && !meaningful(lines[i]!));
      return i < lines.length ? new Reader(lines[i]!, `${file}:${i + 1}`) : undefined;
    };
    const rights = next();
    if (!rights) break;
    rights.token('pos_rights', true);
    rights.spaces(true);
    rights.token('globus', true);
    rights.spaces(true);
    rights.token('CA:sign', true);
    rights.end();
    const cond = next();
    if (!cond) break;
    cond.token('cond_subjects', true);
    cond.spaces(true);
    cond.token('globus', true);
    cond.spaces(true);
    const list = cond.globusQuoted("'");
    cond.end();
    const patterns = new Reader(list, cond.id);
    for (let first = true; ; first = false) {
      const spaces = patterns.spaces(false, true);
      const pattern = patterns.globusQuoted('"').trim();
      if (!pattern) break;
      if (!first && spaces === 0) throw patterns.error('space character(s) missing between subjects');
      policies.push({
        definedFor: hash,
        issuer: { dn: normalizeLegacyDn(issuer) },
        permit: true,
        subject: compile(wildcardToRegExpSource(normalizeLegacyDn(pattern)), `${file}:${i + 1}`),
        id: file,
      });
    }
  }
  return policies;
}

/** Java's Pattern.compile(subject, CASE_INSENSITIVE) with matches(): the whole string. */
function compile(source: string, id: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`, 'i');
  } catch (err) {
    throw new PolicySyntaxError(`${id}: the regular expression ${JSON.stringify(source)} is invalid: ${(err as Error).message}`);
  }
}

class Reader {
  private i = 0;
  constructor(private readonly s: string, readonly id: string) {}

  peek(): string | undefined {
    return this.s[this.i];
  }
  error(what: string): PolicySyntaxError {
    return new PolicySyntaxError(`${this.id}: syntax problem, ${what}; got: ${this.s.slice(this.i)}`);
  }
  tryToken(token: string, caseSensitive = false): boolean {
    const got = this.s.slice(this.i, this.i + token.length);
    if (caseSensitive ? got !== token : got.toLowerCase() !== token.toLowerCase()) return false;
    this.i += token.length;
    return true;
  }
  token(token: string, caseSensitive = false): void {
    if (!this.tryToken(token, caseSensitive)) throw this.error(`expected ${token}`);
  }
  /** EUGridPMA: blanks only; Globus (`tabs`): blanks and tabs. At least one unless atLeastOne is false. */
  spaces(tabs = false, optional = false): number {
    const start = this.i;
    while (this.s[this.i] === ' ' || (tabs && this.s[this.i] === '\t')) this.i++;
    if (!optional && this.i === start) throw this.error('expected space character(s)');
    return this.i - start;
  }
  /** EUGridPMA quoted string: backslash protects the next character and is kept (the value is a regex or a DN). */
  quoted(q: string): string {
    if (this.s[this.i] !== q || this.s.length < this.i + 2) throw this.error('expected a quoted string');
    for (let j = this.i + 1; j < this.s.length; j++) {
      if (this.s[j] === '\\' && j < this.s.length - 1) {
        j++;
        continue;
      }
      if (this.s[j] === q) {
        const value = this.s.slice(this.i + 1, j);
        this.i = j + 1;
        return value;
      }
    }
    throw this.error('quoted string has no closing quote');
  }
  /** Globus quoted string: backslash escapes the next character and is dropped; an unquoted value runs to the end. */
  globusQuoted(q: string): string {
    if (this.i >= this.s.length) return '';
    if (this.s[this.i] !== q) {
      const rest = this.s.slice(this.i);
      this.i = this.s.length;
      return rest;
    }
    let out = '';
    let j = this.i + 1;
    for (; j < this.s.length && this.s[j] !== q; j++) {
      if (this.s[j] === '\\') {
        j++;
        if (j === this.s.length) break;
      }
      out += this.s[j];
    }
    if (j >= this.s.length) throw this.error('quoted string is not properly ended');
    this.i = j + 1;
    return out;
  }
  end(): void {
    if (this.i < this.s.length) throw this.error('garbage at the end of the line');
  }
}
