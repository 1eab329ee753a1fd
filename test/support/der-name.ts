/**
 * DER-encoded X.509 names built byte by byte, for tests that need encodings certificate libraries
 * will not produce: any string type, raw (even invalid) content octets, non-string values,
 * multi-valued RDNs in a non-DER order. Used with core/identity/x509-name.ts and with
 * test/support/cert-shapes.ts to put such names into real certificates.
 */
export const TAG = {
  UTF8: 0x0c, NUMERIC: 0x12, PRINTABLE: 0x13, T61: 0x14, IA5: 0x16, GENERALIZED_TIME: 0x18, VISIBLE: 0x1a,
  GENERAL: 0x1b, UNIVERSAL: 0x1c, BMP: 0x1e, INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04,
} as const;

export const OIDS = {
  CN: '2.5.4.3', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8', O: '2.5.4.10', OU: '2.5.4.11', T: '2.5.4.12',
  STREET: '2.5.4.9', DC: '0.9.2342.19200300.100.1.25', UID: '0.9.2342.19200300.100.1.1', EMAIL: '1.2.840.113549.1.9.1',
  SERIALNUMBER: '2.5.4.5', DNQ: '2.5.4.46', TEL: '2.5.4.20', IP: '1.3.6.1.4.1.42.2.11.2.1', UNIQUE_ID: '2.5.4.45',
  DATE_OF_BIRTH: '1.3.6.1.5.5.7.9.1', SURNAME: '2.5.4.4', GIVENNAME: '2.5.4.42',
} as const;

/** One attribute: [type OID, value tag, content] — a string is UTF-8 for UTF8String, else each char's low byte; BMP strings as UTF-16BE. */
export type AvaSpec = [oid: string, tag: number, content: string | Uint8Array];

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const b: number[] = [];
  for (; n > 0; n = Math.floor(n / 256)) b.unshift(n & 0xff);
  return [0x80 | b.length, ...b];
}

export function tlv(tag: number, content: Uint8Array | number[]): Uint8Array {
  const c = Array.from(content);
  return Uint8Array.from([tag, ...len(c.length), ...c]);
}

export function oidDer(oid: string): Uint8Array {
  const arcs = oid.split('.').map(Number);
  const out: number[] = [];
  const push = (n: number) => {
    const b = [n & 0x7f];
    for (n = Math.floor(n / 128); n > 0; n = Math.floor(n / 128)) b.unshift((n & 0x7f) | 0x80);
    out.push(...b);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  arcs.slice(2).forEach(push);
  return tlv(0x06, out);
}

export function contentOf(tag: number, content: string | Uint8Array): Uint8Array {
  if (content instanceof Uint8Array) return content;
  if (tag === TAG.UTF8) return new Uint8Array(Buffer.from(content, 'utf8'));
  if (tag === TAG.BMP) return new Uint8Array(Buffer.from(content, 'utf16le').swap16());
  if (tag === TAG.UNIVERSAL) return Uint8Array.from([...content].flatMap((c) => { const p = c.codePointAt(0)!; return [p >>> 24, (p >> 16) & 0xff, (p >> 8) & 0xff, p & 0xff]; }));
  return Uint8Array.from([...content].map((c) => c.charCodeAt(0) & 0xff));
}

export function avaDer([oid, tag, content]: AvaSpec): Uint8Array {
  return tlv(0x30, [...oidDer(oid), ...tlv(tag, contentOf(tag, content))]);
}

/** A Name: RDNs most significant first; the AVAs of each RDN kept in the order given (no DER sort). */
export function nameDer(rdns: AvaSpec[][]): Uint8Array {
  return tlv(0x30, rdns.flatMap((rdn) => [...tlv(0x31, rdn.flatMap((a) => [...avaDer(a)]))]));
}

/** Shorthand: a single-valued RDN. */
export const rdn = (oid: string, tag: number, content: string | Uint8Array): AvaSpec[] => [[oid, tag, content]];
export const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
