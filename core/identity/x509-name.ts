/**
 * X.509 names in the two text forms campaign-guard needs:
 *
 * - the grid "slash" form, exactly as dCache matches it: CANL's
 *   OpensslNameUtils.convertFromRfc2253(dn, true) (eu-emi/canl-java): RDNs most significant first
 *   (certificate order), the AVAs of a multi-valued RDN joined with "+" in REVERSE encoding order,
 *   no escaping of "/", "," or "+" inside values, and every UTF-8 byte below 0x20 or above 0x7F
 *   written as \xNN (upper-case hex). Labels come from CANL's JavaAndBCStyle table, normalised by
 *   its NORMALIZED_LABELS; unknown attribute types are written as dotted OIDs.
 * - RFC 4514, for display and for LDAP-minded tools.
 *
 * Where CANL and `openssl x509 -subject -nameopt compat` differ, CANL wins (dCache uses it); the
 * differences are pinned in test/core/identity/x509-name.test.ts:
 *   e-mail: CANL EMAILADDRESS / openssl emailAddress; serialNumber: SERIALNUMBER / serialNumber;
 *   title T / title; street STREET / street; initials INITIALS / initials; surname sn / SN;
 *   givenName gn / GN; "/" in a value: CANL bare / openssl "\/"; multi-valued RDN order: reversed.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { Name, type AttributeTypeAndValue } from '@peculiar/asn1-x509';
import { ValidationError } from '../errors.js';

/** CANL JavaAndBCStyle.asn2StringAll after OpensslNameUtils.normalizeLabel. */
const CANL_LABELS: Record<string, string> = {
  '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU',
  '2.5.4.12': 'T', '1.3.6.1.4.1.42.2.11.2.1': 'IP', '2.5.4.9': 'STREET', '0.9.2342.19200300.100.1.25': 'DC',
  '2.5.4.46': 'dnQualifier', '2.5.4.4': 'sn', '2.5.4.42': 'gn', '2.5.4.43': 'INITIALS', '2.5.4.44': 'generationQualifier',
  '1.2.840.113549.1.9.1': 'EMAILADDRESS', '0.9.2342.19200300.100.1.1': 'UID', '2.5.4.5': 'SERIALNUMBER',
  '1.2.840.113549.1.9.8': 'unstructuredAddress', '1.2.840.113549.1.9.2': 'unstructuredName', '2.5.4.45': 'x500UniqueIdentifier',
  '2.5.4.65': 'Pseudonym', '2.5.4.16': 'PostalAddress', '1.3.36.8.3.14': '1.3.36.8.3.14',
  '1.3.6.1.5.5.7.9.4': 'CountryOfCitizenship', '1.3.6.1.5.5.7.9.5': 'CountryOfResidence', '1.3.6.1.5.5.7.9.3': 'Gender',
  '1.3.6.1.5.5.7.9.2': 'PlaceOfBirth', '1.3.6.1.5.5.7.9.1': 'DateOfBirth', '2.5.4.17': 'PostalCode', '2.5.4.15': 'BusinessCategory',
  '2.5.4.20': 'TelephoneNumber', '2.5.4.41': 'Name',
};

/** RFC 4514 short names (section 3) plus the usual extras; others are written as dotted OIDs. */
const RFC4514_LABELS: Record<string, string> = {
  '2.5.4.3': 'CN', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C',
  '2.5.4.9': 'STREET', '0.9.2342.19200300.100.1.25': 'DC', '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'emailAddress', '2.5.4.5': 'serialNumber',
};

export interface Ava {
  oid: string;
  /** the value as text (string types decoded), or undefined for a non-string value */
  text?: string;
  /** DER of the value, for non-string values */
  der?: Uint8Array;
}

/** A name as RDNs in certificate (DER) order, each RDN's AVAs in DER order. */
export type ParsedName = Ava[][];

/** Parse a DER-encoded Name (e.g. a certificate's subject field). */
export function parseName(der: Uint8Array | ArrayBuffer): ParsedName {
  let name: Name;
  try {
    name = AsnConvert.parse(der, Name);
  } catch (err) {
    throw new ValidationError(`not a valid X.509 name: ${(err as Error).message}`);
  }
  return name.map((rdn) => rdn.map(toAva));
}

function toAva(atv: AttributeTypeAndValue): Ava {
  const v = atv.value;
  const text = v.utf8String ?? v.printableString ?? v.ia5String ?? v.bmpString ?? v.teletexString ?? v.universalString;
  if (typeof text === 'string') return { oid: atv.type, text };
  return { oid: atv.type, der: new Uint8Array(v.anyValue ?? new ArrayBuffer(0)) };
}

/** The grid slash form dCache matches (CANL convertFromRfc2253 with Globus flavouring). */
export function gridDn(name: ParsedName): string {
  let out = '';
  for (const rdn of name) {
    out += '/';
    out += [...rdn].reverse().map((ava) => `${CANL_LABELS[ava.oid] ?? ava.oid}=${canlValue(ava)}`).join('+');
  }
  return out;
}

/** CANL: UTF-8 bytes; each byte that is <= 0x1f as a signed Java byte (controls and all non-ASCII) becomes \xNN. */
function canlValue(ava: Ava): string {
  const bytes = ava.text !== undefined ? Buffer.from(ava.text, 'utf8') : Buffer.from(ava.der ?? []);
  let s = '';
  for (const b of bytes) s += b <= 0x1f || b >= 0x80 ? `\\x${b.toString(16).toUpperCase()}` : String.fromCharCode(b);
  return s;
}

/** RFC 4514: least significant RDN first, values escaped (section 2.4), non-string values as #hex. */
export function rfc4514Dn(name: ParsedName): string {
  return [...name]
    .reverse()
    .map((rdn) => rdn.map((ava) => `${RFC4514_LABELS[ava.oid] ?? ava.oid}=${ava.text !== undefined ? escapeRfc4514(ava.text) : `#${Buffer.from(ava.der ?? []).toString('hex')}`}`).join('+'))
    .join(',');
}

export function escapeRfc4514(value: string): string {
  let out = value.replace(/[\\",+;<>=]/g, (c) => `\\${c}`).replace(/\u0000/g, '\\00');
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/**
 * Check a grid DN typed by an administrator (e.g. to pre-register a certificate): it must look
 * like the slash form this module writes. Returns it unchanged, or throws a ValidationError.
 */
export function checkGridDn(dn: string): string {
  if (dn.length > 1024) throw new ValidationError('a grid DN is at most 1024 characters');
  if (!/^(\/[A-Za-z0-9.]+=[^\u0000-\u001f\u007f-\uffff]*)+$/.test(dn)) {
    throw new ValidationError('a grid DN looks like /C=DE/O=Example/CN=Name: "/"-separated TYPE=value parts, non-ASCII bytes written as \\xNN');
  }
  if (!/\/CN=/.test(dn)) throw new ValidationError('a grid DN names a CN');
  return dn;
}
