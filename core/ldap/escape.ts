/**
 * Escaping for values placed into LDAP filter strings (RFC 4515) and DN strings (RFC 4514).
 * Every value that did not come from a constant goes through one of these: filters are built
 * with the `filter` template tag, DNs with childDn (core/directory/layout.ts).
 */
import { ValidationError } from '../errors.js';

/**
 * RFC 4515 section 3: in an assertion value `*`, `(`, `)`, `\` and NUL must be written as `\XX`.
 * Everything else (including UTF-8) may stay literal; we also escape other ASCII control
 * characters so logged filters stay readable.
 */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '*' || ch === '(' || ch === ')' || ch === '\\' || code < 0x20 || code === 0x7f) {
      out += '\\' + code.toString(16).padStart(2, '0');
    } else {
      out += ch;
    }
  }
  return out;
}

/** Tagged template: every interpolated value is filter-escaped. filter`(uid=${name})`. */
export function filter(strings: TemplateStringsArray, ...values: (string | number)[]): string {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += escapeFilterValue(String(v)) + strings[i + 1]!;
  });
  return out;
}

/**
 * RFC 4514 section 2.4: escape `"`, `+`, `,`, `;`, `<`, `>`, `\`, a leading `#` or space, a
 * trailing space, and NUL (as `\00`). `=` is escaped too (allowed, and it keeps naive parsers
 * honest). Control characters are hex-escaped. An empty value is refused: it cannot name an entry.
 */
export function escapeDnValue(value: string): string {
  if (value.length === 0) throw new ValidationError('an empty value cannot be used in a DN');
  let out = '';
  const chars = [...value];
  chars.forEach((ch, i) => {
    const code = ch.codePointAt(0)!;
    if (code < 0x20 || code === 0x7f) {
      out += '\\' + code.toString(16).padStart(2, '0');
    } else if ('"+,;<>\\='.includes(ch)) {
      out += '\\' + ch;
    } else if ((i === 0 && (ch === '#' || ch === ' ')) || (i === chars.length - 1 && ch === ' ')) {
      out += '\\' + ch;
    } else {
      out += ch;
    }
  });
  return out;
}

/** `attr=<escaped value>,<parent>`: one RDN under a parent DN. attr must be a plain attribute name. */
export function childDn(attr: string, value: string, parent: string): string {
  if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(attr)) throw new ValidationError(`not an attribute name: ${attr}`);
  return `${attr}=${escapeDnValue(value)},${parent}`;
}

/**
 * Value of the first RDN of a DN we wrote ourselves (`attr=value,...`), with RFC 4514 escapes
 * undone. Returns undefined if the first RDN is not `attr=...` or is multi-valued.
 */
export function firstRdnValue(dn: string, attr: string): string | undefined {
  const eq = dn.indexOf('=');
  if (eq < 0 || dn.slice(0, eq).trim().toLowerCase() !== attr.toLowerCase()) return undefined;
  const bytes: number[] = [];
  const rest = [...dn.slice(eq + 1)];
  const enc = new TextEncoder();
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i]!;
    if (ch === '\\') {
      const hex = (rest[i + 1] ?? '') + (rest[i + 2] ?? '');
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else {
        const next = rest[i + 1];
        if (next === undefined) return undefined;
        bytes.push(...enc.encode(next));
        i += 1;
      }
    } else if (ch === ',' || ch === '+') {
      if (ch === '+') return undefined;
      break;
    } else {
      bytes.push(...enc.encode(ch));
    }
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(bytes));
}
