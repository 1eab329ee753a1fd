/**
 * X.509 names in the text forms campaign-guard needs:
 *
 * - the grid "slash" form, byte for byte as dCache computes it at login. gPlazma's X509Plugin takes
 *   ProxyUtils.getEndUserCertificate(chain) and builds
 *   `new GlobusPrincipal(eec.getSubjectX500Principal())` (dCache modules/common
 *   org/globus/gsi/gssapi/jaas/GlobusPrincipal.java), which is
 *   `OpensslNameUtils.convertFromRfc2253(principal.getName(), true)` (canl-java 2.8.3). So the name
 *   goes through three real programs, and this module models each of them in turn:
 *     1. the JDK prints the DER name as RFC 2253 text (sun.security.x509.AVA.toRFC2253String,
 *        RDN.toRFC2253String, X500Name.generateRFC2253DN): see javaRfc2253();
 *     2. BouncyCastle 1.79 parses that text again with CANL's JavaAndBCStyle (a BCStyle)
 *        (IETFUtils.rDNsFromString, X500NameTokenizer, IETFUtils.unescape,
 *        AbstractX500NameStyle.stringToValue, BCStyle.encodeStringValue, RDN -> DERSet sort):
 *        see bcParse();
 *     3. CANL prints it (OpensslNameUtils.convertFromRfc2253, getShortName4Openssl,
 *        getOpensslValue): see canlPrint().
 *   Which JDK runs dCache matters: JDK 17 updates before the charset fix decode every directory
 *   string type as UTF-8; JDK 21 (and later JDK 17 updates, e.g. Debian's 17.0.21) decode
 *   PrintableString/T61String/IA5String/GeneralString as ISO-8859-1 and BMPString as UTF-16BE
 *   (AVA.getCharset). gridDnForms() returns every form dCache could compute, the JDK 21 one first.
 * - RFC 4514, for display and for LDAP-minded tools.
 *
 * Every rule is pinned, with its source, in test/core/identity/x509-name.test.ts; the JDK stage is
 * compared there with the JDK's own X500Principal.getName() and BouncyCastle's string classes with
 * Debian's BouncyCastle jar, both run at test time.
 */
import { ValidationError } from '../errors.js';

/**
 * dCache cannot turn this certificate's subject into a DN (CANL throws, gPlazma refuses every
 * login with it): refuse it at registration and binding, with this message.
 */
export class UnusableByDcacheError extends ValidationError {
  constructor(why: string) {
    super(`dCache cannot use this certificate: ${why}. Ask your certificate authority for a certificate whose subject has only text values`);
  }
}

/** Which JDK decoding of directory strings to model (see the module comment). */
export type JdkDecoding = 'jdk21' | 'jdk17';
export const JDK_DECODINGS: readonly JdkDecoding[] = ['jdk21', 'jdk17'];

export interface Ava {
  oid: string;
  /** the value's DER tag (one byte) */
  tag: number;
  /** the value's content octets, as in the certificate */
  content: Uint8Array;
  /** the value as text when it is a directory string type the JDK decodes (JDK 21 decoding) */
  text?: string;
}

/** A name as RDNs in certificate (DER) order, each RDN's AVAs in encoding order. */
export type ParsedName = Ava[][];

// ---------------------------------------------------------------------------------------------
// DER reading: a strict, bounded reader for Name ::= SEQUENCE OF SET OF SEQUENCE { OID, ANY }.

const MAX_NAME_BYTES = 64 * 1024;

interface Tlv {
  tag: number;
  content: Uint8Array;
  /** offset just past this TLV */
  end: number;
}

function readTlv(buf: Uint8Array, off: number, limit: number): Tlv {
  if (off + 2 > limit) throw new ValidationError('not a valid X.509 name: truncated');
  const tag = buf[off]!;
  if ((tag & 0x1f) === 0x1f) throw new ValidationError('not a valid X.509 name: multi-byte tags are not supported');
  let len = buf[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new ValidationError('not a valid X.509 name: indefinite length');
    if (n > 3 || p + n > limit) throw new ValidationError('not a valid X.509 name: bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > limit) throw new ValidationError('not a valid X.509 name: truncated');
  return { tag, content: buf.subarray(p, p + len), end: p + len };
}

function readChildren(content: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let off = 0; off < content.length; ) {
    const t = readTlv(content, off, content.length);
    out.push(t);
    off = t.end;
  }
  return out;
}

function decodeOid(c: Uint8Array): string {
  if (c.length === 0 || c[c.length - 1]! & 0x80) throw new ValidationError('not a valid X.509 name: bad object identifier');
  const arcs: bigint[] = [];
  let v = 0n;
  for (let i = 0; i < c.length; i++) {
    if (v === 0n && c[i] === 0x80) throw new ValidationError('not a valid X.509 name: bad object identifier');
    v = (v << 7n) | BigInt(c[i]! & 0x7f);
    if (!(c[i]! & 0x80)) {
      arcs.push(v);
      v = 0n;
    }
  }
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

/** DER content octets of an OBJECT IDENTIFIER. */
export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map((a) => BigInt(a));
  const out: number[] = [];
  const push = (n: bigint) => {
    const bytes = [Number(n & 0x7fn)];
    for (n >>= 7n; n > 0n; n >>= 7n) bytes.unshift(Number(n & 0x7fn) | 0x80);
    out.push(...bytes);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return Uint8Array.from(out);
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** One DER TLV (single-byte tag). */
export function tlv(tag: number, content: Uint8Array): Uint8Array {
  return Uint8Array.from([tag, ...derLength(content.length), ...content]);
}

/** Parse a DER-encoded Name (e.g. a certificate's subject field). Throws ValidationError. */
export function parseName(der: Uint8Array | ArrayBuffer): ParsedName {
  const buf = der instanceof Uint8Array ? der : new Uint8Array(der);
  if (buf.length > MAX_NAME_BYTES) throw new ValidationError('not a valid X.509 name: too long');
  const top = readTlv(buf, 0, buf.length);
  if (top.tag !== 0x30 || top.end !== buf.length) throw new ValidationError('not a valid X.509 name: not a SEQUENCE');
  return readChildren(top.content).map((set) => {
    if (set.tag !== 0x31) throw new ValidationError('not a valid X.509 name: an RDN is not a SET');
    const avas = readChildren(set.content);
    if (avas.length === 0) throw new ValidationError('not a valid X.509 name: empty RDN');
    return avas.map((seq) => {
      if (seq.tag !== 0x30) throw new ValidationError('not a valid X.509 name: an attribute is not a SEQUENCE');
      const parts = readChildren(seq.content);
      if (parts.length !== 2 || parts[0]!.tag !== 0x06) throw new ValidationError('not a valid X.509 name: an attribute is not { type, value }');
      const ava: Ava = { oid: decodeOid(parts[0]!.content), tag: parts[1]!.tag, content: parts[1]!.content };
      if (JAVA_STRING_TAGS.has(ava.tag)) ava.text = javaDecode(ava.tag, ava.content, 'jdk21');
      return ava;
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Stage 1: the JDK's RFC 2253 text (X500Principal.getName()).

const OID = {
  CN: '2.5.4.3', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8', O: '2.5.4.10', OU: '2.5.4.11', STREET: '2.5.4.9',
  DC: '0.9.2342.19200300.100.1.25', UID: '0.9.2342.19200300.100.1.1', EMAIL: '1.2.840.113549.1.9.1',
  SERIALNUMBER: '2.5.4.5', DN_QUALIFIER: '2.5.4.46', TELEPHONE_NUMBER: '2.5.4.20', DATE_OF_BIRTH: '1.3.6.1.5.5.7.9.1',
  JURISDICTION_C: '1.3.6.1.4.1.311.60.2.1.3',
} as const;

/** AVAKeyword entries with rfc2253Compliant = true (sun.security.x509.AVA, JDK 17 and 21 alike). */
const JDK_RFC2253_KEYWORDS: Record<string, string> = {
  [OID.CN]: 'CN', [OID.C]: 'C', [OID.L]: 'L', [OID.ST]: 'ST', [OID.O]: 'O', [OID.OU]: 'OU',
  [OID.STREET]: 'STREET', [OID.DC]: 'DC', [OID.UID]: 'UID',
};

/** AVA.isDerString(value, false): PrintableString, T61String, IA5String, GeneralString, BMPString, UTF8String. */
const JAVA_STRING_TAGS = new Set([0x13, 0x14, 0x16, 0x1b, 0x1e, 0x0c]);

/**
 * `new String(bytes, UTF_8)` in the JDK (java.lang.String.decodeUTF8_UTF16 with doReplace): each
 * malformed sequence becomes U+FFFD, with the JDK's own idea of how long a malformed sequence is
 * (not the WHATWG one: a truncated 3-byte sequence at the end is one U+FFFD, e.g. ED B4).
 */
export function javaUtf8Decode(src: Uint8Array): string {
  const REPL = 0xfffd;
  const out: number[] = [];
  const sb = (i: number) => (src[i]! << 24) >> 24; // signed byte, as Java's byte
  const notCont = (b: number) => (b & 0xc0) !== 0x80;
  const sl = src.length;
  let sp = 0;
  while (sp < sl) {
    const b1 = sb(sp++);
    if (b1 >= 0) out.push(b1);
    else if (b1 >> 5 === -2 && (b1 & 0x1e) !== 0) {
      if (sp < sl) {
        const b2 = sb(sp++);
        if (notCont(b2)) {
          out.push(REPL);
          sp--;
        } else out.push(((b1 << 6) ^ b2 ^ ((-64 << 6) ^ -128)) & 0xffff);
        continue;
      }
      out.push(REPL);
      break;
    } else if (b1 >> 4 === -2) {
      if (sp + 1 < sl) {
        const b2 = sb(sp++);
        const b3 = sb(sp++);
        if ((b1 === -32 && (b2 & 0xe0) === 0x80) || notCont(b2) || notCont(b3)) {
          out.push(REPL);
          sp -= 3;
          const m1 = sb(sp);
          const m2 = sb(sp + 1);
          sp += (m1 === -32 && (m2 & 0xe0) === 0x80) || notCont(m2) ? 1 : 2;
        } else {
          const c = ((b1 << 12) ^ (b2 << 6) ^ (b3 ^ ((-32 << 12) ^ (-128 << 6) ^ -128))) & 0xffff;
          out.push(c >= 0xd800 && c <= 0xdfff ? REPL : c);
        }
        continue;
      }
      if (sp < sl && ((b1 === -32 && (sb(sp) & 0xe0) === 0x80) || notCont(sb(sp)))) {
        out.push(REPL);
        continue;
      }
      out.push(REPL);
      break;
    } else if (b1 >> 3 === -2) {
      if (sp + 2 < sl) {
        const b2 = sb(sp++);
        const b3 = sb(sp++);
        const b4 = sb(sp++);
        const uc = (b1 << 18) ^ (b2 << 12) ^ (b3 << 6) ^ (b4 ^ ((-16 << 18) ^ (-128 << 12) ^ (-128 << 6) ^ -128));
        if (notCont(b2) || notCont(b3) || notCont(b4) || !(uc >= 0x10000 && uc <= 0x10ffff)) {
          out.push(REPL);
          sp -= 4;
          const m1 = src[sp]!;
          const m2 = src[sp + 1]!;
          if (m1 > 0xf4 || (m1 === 0xf0 && (m2 < 0x90 || m2 > 0xbf)) || (m1 === 0xf4 && (m2 & 0xf0) !== 0x80) || notCont(m2)) sp += 1;
          else if (notCont(sb(sp + 2))) sp += 2;
          else sp += 3;
        } else {
          const v = uc - 0x10000;
          out.push(0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
        }
        continue;
      }
      const u1 = b1 & 0xff;
      if (u1 > 0xf4 || (sp < sl && ((u1 === 0xf0 && (src[sp]! < 0x90 || src[sp]! > 0xbf)) || (u1 === 0xf4 && (src[sp]! & 0xf0) !== 0x80) || notCont(sb(sp))))) {
        out.push(REPL);
        continue;
      }
      sp++;
      out.push(REPL);
      if (sp < sl && notCont(sb(sp))) continue;
      break;
    } else out.push(REPL);
  }
  let s = '';
  for (let i = 0; i < out.length; i += 4096) s += String.fromCharCode(...out.slice(i, i + 4096));
  return s;
}

function utf8Replace(bytes: Uint8Array): string {
  return javaUtf8Decode(bytes);
}

/** `new String(bytes, UTF_16BE)` (sun.nio.cs.UnicodeDecoder with REPLACE; no BOM handling for UTF-16BE). */
function utf16beReplace(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (b.length - i > 1) {
    const c = (b[i]! << 8) | b[i + 1]!;
    if (c >= 0xd800 && c <= 0xdbff) {
      if (b.length - i < 4) break; // underflow: the rest is malformed at end of input
      const c2 = (b[i + 2]! << 8) | b[i + 3]!;
      // a high surrogate not followed by a low one: malformedForLength(4), both units replaced by one U+FFFD
      out += c2 >= 0xdc00 && c2 <= 0xdfff ? String.fromCharCode(c, c2) : '\ufffd';
      i += 4;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      out += '\ufffd'; // unpaired low surrogate: malformedForLength(2)
      i += 2;
    } else {
      out += String.fromCharCode(c);
      i += 2;
    }
  }
  if (i < b.length) out += '\ufffd'; // CharsetDecoder.decode(..., endOfInput): leftover bytes, one replacement
  return out;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

/** AVA.toRFC2253String: `new String(value.getDataBytes(), charset)`; JDK 17 (old updates) used UTF_8 for all. */
function javaDecode(tag: number, content: Uint8Array, jdk: JdkDecoding): string {
  if (jdk === 'jdk17' || tag === 0x0c) return utf8Replace(content);
  if (tag === 0x1e) return utf16beReplace(content);
  return latin1(content); // Printable, T61, IA5, General: ISO_8859_1
}

/** DerValue.isPrintableStringChar */
function isPrintableStringChar(c: string): boolean {
  return /^[A-Za-z0-9 '()+,\-./:=?]$/.test(c);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** One AVA as AVA.toRFC2253String(emptyMap) prints it. */
function javaAva(ava: Ava, jdk: JdkDecoding): string {
  const keyword = JDK_RFC2253_KEYWORDS[ava.oid];
  if (!keyword || !JAVA_STRING_TAGS.has(ava.tag)) {
    // dotted OID or a value with no string form: '#' + hex of the DER (HexFormat: lower case)
    return `${keyword ?? ava.oid}=#${hex(tlv(ava.tag, ava.content))}`;
  }
  const valStr = javaDecode(ava.tag, ava.content, jdk);
  const escapees = ',=+<>#;"\\';
  const chars: string[] = []; // UTF-16 code units, as Java's char
  for (let i = 0; i < valStr.length; i++) {
    const c = valStr[i]!;
    if (isPrintableStringChar(c) || escapees.includes(c)) {
      if (escapees.includes(c)) chars.push('\\');
      chars.push(c);
    } else if (c === '\u0000') chars.push('\\', '0', '0');
    else chars.push(c);
  }
  let lead = 0;
  while (lead < chars.length && (chars[lead] === ' ' || chars[lead] === '\r')) lead++;
  let trail = chars.length - 1;
  while (trail >= 0 && (chars[trail] === ' ' || chars[trail] === '\r')) trail--;
  let out = '';
  chars.forEach((c, i) => {
    out += (i < lead || i > trail ? '\\' : '') + c;
  });
  return `${keyword}=${out}`;
}

/** X500Principal.getName() (RFC 2253): least significant RDN first, AVAs in encoding order. */
export function javaRfc2253(name: ParsedName, jdk: JdkDecoding = 'jdk21'): string {
  if (jdk === 'jdk21') {
    // AVA(DerValue) in JDK 21 (and later 17 updates) calls value.validateBMPString(): a BMPString that
    // decodes to any surrogate (a character outside the BMP) makes the whole certificate unparseable.
    for (const ava of name.flat()) {
      if (ava.tag === 0x1e && /[\ud800-\udfff]/.test(utf16beReplace(ava.content))) {
        throw new UnusableByDcacheError(`the BMPString value of ${canlLabel(ava.oid)} holds a character outside the Basic Multilingual Plane, which Java 21 refuses`);
      }
    }
  }
  return [...name].reverse().map((rdn) => rdn.map((ava) => javaAva(ava, jdk)).join('+')).join(',');
}

// ---------------------------------------------------------------------------------------------
// Stage 2: BouncyCastle 1.79 re-parses the text (new X500Name(JavaAndBCStyle, text)).

/** An ASN.1 primitive as BC holds it after parsing. */
interface BcValue {
  tag: number;
  content: Uint8Array;
}

interface BcAva {
  oid: string;
  value: BcValue;
}

/** X500NameTokenizer.nextToken over the whole string (1.79): split at unescaped, unquoted `sep`. */
function bcTokens(value: string, sep: string): string[] {
  const out: string[] = [];
  if (value.length === 0) return out; // index starts at 0: no tokens
  let quoted = false;
  let escaped = false;
  let begin = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (escaped) escaped = false;
    else if (c === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (c === '\\') escaped = true;
    else if (c === sep) {
      out.push(value.slice(begin, i));
      begin = i + 1;
    }
  }
  if (escaped || quoted) throw new UnusableByDcacheError('BouncyCastle cannot parse the subject ("badly formatted directory string")');
  out.push(value.slice(begin));
  return out;
}

/** Java's String.trim(): strips every char <= U+0020 at both ends. */
function javaTrim(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) <= 0x20) a++;
  while (b > a && s.charCodeAt(b - 1) <= 0x20) b--;
  return s.slice(a, b);
}

const isHexDigit = (c: string) => /^[0-9a-fA-F]$/.test(c);

/** IETFUtils.unescape (1.79). */
function bcUnescape(elt: string): string {
  if (elt.length === 0) return elt;
  if (!elt.includes('\\') && !elt.includes('"')) return javaTrim(elt);
  let escaped = false;
  let quoted = false;
  let buf = '';
  let start = 0;
  if (elt[0] === '\\' && elt[1] === '#') {
    start = 2;
    buf = '\\#';
  }
  let nonWhiteSpaceEncountered = false;
  let lastEscaped = 0;
  let hex1 = '';
  for (let i = start; i < elt.length; i++) {
    const c = elt[i]!;
    if (c !== ' ') nonWhiteSpaceEncountered = true;
    if (c === '"') {
      if (!escaped) quoted = !quoted;
      else {
        buf += c;
        escaped = false;
      }
    } else if (c === '\\' && !(escaped || quoted)) {
      escaped = true;
      lastEscaped = buf.length;
    } else {
      if (c === ' ' && !escaped && !nonWhiteSpaceEncountered) continue;
      if (escaped && isHexDigit(c)) {
        if (hex1 !== '') {
          buf += String.fromCharCode(parseInt(hex1, 16) * 16 + parseInt(c, 16));
          escaped = false;
          hex1 = '';
          continue;
        }
        hex1 = c;
        continue;
      }
      buf += c;
      escaped = false;
    }
  }
  if (buf.length > 0) {
    while (buf[buf.length - 1] === ' ' && lastEscaped !== buf.length - 1) {
      buf = buf.slice(0, -1);
      // BC reads buf.charAt(-1) next: StringIndexOutOfBoundsException
      if (buf.length === 0) throw new UnusableByDcacheError('BouncyCastle fails on a subject value made of blanks only');
    }
  }
  return buf;
}

/** Strings.toByteArray: the low byte of each UTF-16 code unit. */
function lowBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/** Strings.toUTF8ByteArray (1.79), with its handling of broken surrogates. */
function bcUtf8(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let ch = s.charCodeAt(i);
    if (ch < 0x80) out.push(ch);
    else if (ch < 0x800) out.push(0xc0 | (ch >> 6), 0x80 | (ch & 0x3f));
    else if (ch >= 0xd800 && ch <= 0xdfff) {
      if (i + 1 >= s.length) throw new UnusableByDcacheError('a subject value holds a broken UTF-16 surrogate, which BouncyCastle cannot encode');
      const w1 = ch;
      ch = s.charCodeAt(++i);
      if (w1 > 0xdbff) throw new UnusableByDcacheError('a subject value holds a broken UTF-16 surrogate, which BouncyCastle cannot encode');
      const cp = (((w1 & 0x3ff) << 10) | (ch & 0x3ff)) + 0x10000;
      out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    } else out.push(0xe0 | (ch >> 12), 0x80 | ((ch >> 6) & 0x3f), 0x80 | (ch & 0x3f));
  }
  return Uint8Array.from(out);
}

/** BCStyle.encodeStringValue (1.79). */
function bcEncodeString(oid: string, value: string): BcValue {
  if (oid === OID.EMAIL || oid === OID.DC) return { tag: 0x16, content: lowBytes(value) }; // DERIA5String(String)
  if (oid === OID.DATE_OF_BIRTH) throw new UnusableByDcacheError('its dateOfBirth is not a GeneralizedTime BouncyCastle accepts');
  if (oid === OID.C || oid === OID.SERIALNUMBER || oid === OID.DN_QUALIFIER || oid === OID.TELEPHONE_NUMBER || oid === OID.JURISDICTION_C) {
    return { tag: 0x13, content: lowBytes(value) }; // DERPrintableString(String)
  }
  return { tag: 0x0c, content: bcUtf8(value) }; // DERUTF8String(String)
}

/** BC string types (ASN1String implementations other than BIT STRING). */
const BC_STRING_TAGS = new Set([0x0c, 0x12, 0x13, 0x14, 0x15, 0x16, 0x19, 0x1a, 0x1b, 0x1c, 0x1e]);

/** IETFUtils.valueFromHexString -> ASN1Primitive.fromByteArray: only what CANL can print passes. */
function bcFromHex(hexText: string, oid: string): BcValue {
  const bytes = Buffer.from(hexText.length % 2 ? hexText.slice(0, -1) : hexText, 'hex');
  const label = canlLabel(oid);
  let t: Tlv;
  try {
    t = readTlv(bytes, 0, bytes.length);
  } catch {
    throw new UnusableByDcacheError(`BouncyCastle cannot parse the value of ${label}`);
  }
  if (t.end !== bytes.length) throw new UnusableByDcacheError(`BouncyCastle cannot parse the value of ${label}`);
  if (t.tag === 0x03) {
    // ASN1BitString.createPrimitive
    const c = t.content;
    if (c.length < 1 || c[0]! > 7 || (c[0]! > 0 && c.length < 2)) throw new UnusableByDcacheError(`the BIT STRING value of ${label} is malformed`);
    return t;
  }
  if (t.tag === 0x1e && t.content.length % 2) throw new UnusableByDcacheError(`the BMPString value of ${label} has an odd length`);
  if (!BC_STRING_TAGS.has(t.tag)) {
    throw new UnusableByDcacheError(`the value of ${label} is ${TAG_NAMES[t.tag] ?? `ASN.1 tag 0x${t.tag.toString(16)}`}, not text, and CANL refuses such values`);
  }
  return t;
}

const TAG_NAMES: Record<number, string> = {
  0x01: 'a BOOLEAN', 0x02: 'an INTEGER', 0x04: 'an OCTET STRING', 0x05: 'a NULL', 0x06: 'an OBJECT IDENTIFIER', 0x0a: 'an ENUMERATED',
  0x17: 'a UTCTime', 0x18: 'a GeneralizedTime', 0x30: 'a SEQUENCE', 0x31: 'a SET',
};

/** AbstractX500NameStyle.stringToValue (1.79). */
function bcStringToValue(oid: string, value: string): BcValue {
  if (value.length !== 0 && value[0] === '#') return bcFromHex(value.slice(1), oid);
  if (value.length !== 0 && value[0] === '\\') value = value.slice(1);
  return bcEncodeString(oid, value);
}

const JDK_KEYWORD_OIDS: Record<string, string> = Object.fromEntries(Object.entries(JDK_RFC2253_KEYWORDS).map(([oid, k]) => [k, oid]));

function bcAttr(token: string): BcAva {
  const parts = bcTokens(token, '=');
  if (parts.length !== 2) throw new UnusableByDcacheError('BouncyCastle cannot parse the subject ("badly formatted directory string")');
  const type = javaTrim(parts[0]!);
  const oid = JDK_KEYWORD_OIDS[type] ?? (/^\d+(\.\d+)+$/.test(type) ? type : undefined);
  if (!oid) throw new UnusableByDcacheError(`BouncyCastle does not know the attribute ${type}`);
  return { oid, value: bcStringToValue(oid, bcUnescape(parts[1]!)) };
}

function avaDer(a: BcAva): Uint8Array {
  // DER encoding used by ASN1Set.sort: BIT STRINGs are DER-encoded (unused bits zeroed)
  let content = a.value.content;
  if (a.value.tag === 0x03 && content.length > 1 && content[0]! > 0) {
    content = Uint8Array.from(content);
    content[content.length - 1]! &= (0xff << content[0]!) & 0xff;
  }
  return tlv(0x30, Uint8Array.from([...tlv(0x06, encodeOid(a.oid)), ...tlv(a.value.tag, content)]));
}

/** ASN1Set.lessThanOrEqual (1.79) on DER encodings. */
function derLessOrEqual(a: Uint8Array, b: Uint8Array): boolean {
  const a0 = a[0]! & 0xdf;
  const b0 = b[0]! & 0xdf;
  if (a0 !== b0) return a0 < b0;
  const last = Math.min(a.length, b.length) - 1;
  for (let i = 1; i < last; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return a[last]! <= b[last]!;
}

/** new X500Name(style, text).getRDNs(), most significant RDN first; multi-valued RDNs in DERSet order. */
export function bcParse(rfc2253: string): BcAva[][] {
  const rdns: BcAva[][] = [];
  for (const token of bcTokens(rfc2253, ',')) {
    if (token.includes('+')) {
      const avas = bcTokens(token, '+').map(bcAttr);
      // new RDN(AttributeTypeAndValue[]) -> new DERSet(...): sorted by DER encoding
      const keyed = avas.map((a) => ({ a, der: avaDer(a) }));
      keyed.sort((x, y) => (derLessOrEqual(x.der, y.der) ? (derLessOrEqual(y.der, x.der) ? 0 : -1) : 1));
      rdns.push(keyed.map((k) => k.a));
    } else rdns.push([bcAttr(token)]);
  }
  return rdns.reverse(); // the text is least significant first; X500Name keeps that order, CANL walks it backwards
}

// ---------------------------------------------------------------------------------------------
// Stage 3: CANL's OpensslNameUtils prints it.

/** CANL JavaAndBCStyle.asn2StringAll (later puts win) after OpensslNameUtils.normalizeLabel. */
const CANL_LABELS: Record<string, string> = {
  '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU',
  '2.5.4.12': 'T', // T: no NORMALIZED_LABELS entry
  '1.3.6.1.4.1.42.2.11.2.1': '1.3.6.1.4.1.42.2.11.2.1', // IP -> normalizeLabel("ip") -> the OID
  '2.5.4.9': 'STREET', '0.9.2342.19200300.100.1.25': 'DC',
  '2.5.4.46': 'dnQualifier', // asn2StringAll DN -> normalizeLabel("dn")
  '2.5.4.4': 'sn', // SURNAME -> "surname" -> sn
  '2.5.4.42': 'gn', // GIVENNAME -> "givenname" -> gn
  '2.5.4.43': 'INITIALS',
  '2.5.4.44': 'generationQualifier', // GENERATION -> "generation"
  '1.2.840.113549.1.9.1': 'EMAILADDRESS', // "emailaddress" is not in NORMALIZED_LABELS
  '0.9.2342.19200300.100.1.1': 'UID', '2.5.4.5': 'SERIALNUMBER',
  '1.2.840.113549.1.9.8': 'unstructuredAddress', '1.2.840.113549.1.9.2': 'unstructuredName',
  '2.5.4.45': 'x500UniqueIdentifier', // UniqueIdentifier -> "uniqueidentifier"
  '2.5.4.65': 'Pseudonym', '2.5.4.16': 'PostalAddress',
  '1.3.36.8.3.14': '1.3.36.8.3.14', // NameAtBirth -> "nameatbirth" -> the OID
  '1.3.6.1.5.5.7.9.4': 'CountryOfCitizenship', '1.3.6.1.5.5.7.9.5': 'CountryOfResidence', '1.3.6.1.5.5.7.9.3': 'Gender',
  '1.3.6.1.5.5.7.9.2': 'PlaceOfBirth', '1.3.6.1.5.5.7.9.1': 'DateOfBirth', '2.5.4.17': 'PostalCode', '2.5.4.15': 'BusinessCategory',
  '2.5.4.20': 'TelephoneNumber', '2.5.4.41': 'Name',
};

/** OpensslNameUtils.getShortName4Openssl */
export function canlLabel(oid: string): string {
  return CANL_LABELS[oid] ?? oid;
}

const HEX_UPPER = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

/** Strings.fromUTF8ByteArray (1.79): strict; invalid input throws. */
function bcUtf8Decode(b: Uint8Array, label: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
  } catch {
    throw new UnusableByDcacheError(`the UTF8String value of ${label} is not valid UTF-8, which BouncyCastle refuses`);
  }
}

/** ASN1String.getString() of BC 1.79's string classes. */
function bcGetString(v: BcValue, label: string): string {
  switch (v.tag) {
    case 0x0c:
      return bcUtf8Decode(v.content, label);
    case 0x1e: {
      let s = '';
      for (let i = 0; i + 1 < v.content.length; i += 2) s += String.fromCharCode((v.content[i]! << 8) | v.content[i + 1]!);
      return s;
    }
    case 0x1c: // ASN1UniversalString.getString: "#1C" + DER length + contents, upper-case hex
      return `#1C${HEX_UPPER(Uint8Array.from(derLength(v.content.length)))}${HEX_UPPER(v.content)}`;
    default: // Printable, T61, IA5, Visible, Numeric, General, Graphic, Videotex: Strings.fromByteArray
      return latin1(v.content);
  }
}

/** OpensslNameUtils.getOpensslValue */
function canlValue(v: BcValue, label: string): string {
  let bytes: Uint8Array;
  if (v.tag === 0x03) {
    const c = v.content;
    const pad = c[0]!;
    if (pad > 0 && (c[c.length - 1]! & ~(0xff << pad) & 0xff) !== 0) {
      // DLBitString (unused bits set): not a DERBitString, so ASN1BitString.getString(): '#' + hex of its encoding
      bytes = bcUtf8(`#${HEX_UPPER(tlv(0x03, c))}`);
    } else {
      bytes = c.subarray(1); // DERBitString.getBytes()
    }
  } else bytes = bcUtf8(bcGetString(v, label));
  let s = '';
  for (const b of bytes) s += b >= 0x80 || b <= 0x1f ? `\\x${b.toString(16).toUpperCase()}` : String.fromCharCode(b);
  return s;
}

/**
 * OpensslNameUtils.convertFromRfc2253(text, globusFlavouring) after BC parsed it: the AVAs of a
 * multi-valued RDN joined with '+' (Globus flavouring: the grid DN) or '/' (the legacy form CA
 * namespace policies are matched against).
 */
function canlPrint(rdns: BcAva[][], avaSeparator: '+' | '/' = '+'): string {
  let out = '';
  for (const rdn of rdns) {
    out += '/';
    out += [...rdn].reverse().map((a) => `${canlLabel(a.oid)}=${canlValue(a.value, canlLabel(a.oid))}`).join(avaSeparator);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The API.

/** The grid DN dCache computes for this name on the given JDK. Throws UnusableByDcacheError. */
export function gridDnFor(name: ParsedName, jdk: JdkDecoding): string {
  return canlPrint(bcParse(javaRfc2253(name, jdk)));
}

export interface GridDnForms {
  /** Every distinct DN dCache could compute for the name: the JDK 21 form first (the primary one). */
  forms: string[];
}

/**
 * Every grid DN dCache could compute for this name (JDK 21 first, then JDK 17 when it differs).
 * Throws UnusableByDcacheError when dCache cannot use the name at all, ValidationError when the
 * DER is not a name.
 */
export function gridDnForms(name: ParsedName | Uint8Array | ArrayBuffer): GridDnForms {
  const parsed = Array.isArray(name) ? name : parseName(name);
  const forms: string[] = [];
  for (const jdk of JDK_DECODINGS) {
    const f = gridDnFor(parsed, jdk);
    if (!forms.includes(f)) forms.push(f);
  }
  return { forms };
}

/**
 * The legacy OpenSSL form CANL matches CA namespace policies against (convertFromRfc2253(name,
 * false): multi-valued RDNs as '/'-separated AVAs), JDK 21 decoding. Throws UnusableByDcacheError.
 */
export function legacyOpensslDn(name: ParsedName): string {
  return canlPrint(bcParse(javaRfc2253(name, 'jdk21')), '/');
}

/** The primary grid DN (the JDK 21 form) dCache matches. Throws UnusableByDcacheError. */
export function gridDn(name: ParsedName): string {
  return gridDnFor(name, 'jdk21');
}

/**
 * A grid DN for display only, never for matching: the primary form, or, when dCache cannot use
 * the name, a best-effort slash form with non-string values as #hex (for error messages).
 */
export function gridDnForDisplay(name: ParsedName): string {
  try {
    return gridDn(name);
  } catch {
    return name.map((rdn) => '/' + rdn.map((a) => `${canlLabel(a.oid)}=${a.text ?? `#${hex(tlv(a.tag, a.content))}`}`).join('+')).join('');
  }
}

/**
 * Why another subject could give the same grid DN as this one (undefined when no other subject can,
 * apart from the same text in another string type or multi-valued RDN order, which X.500 itself
 * treats as the same name). dCache's DN loses information in these cases:
 * - values that are not text or are not valid in their type (invalid UTF-8 becomes U+FFFD,
 *   a broken BMPString likewise), UniversalStrings (written as "#1C..." text);
 * - control characters (trimmed, or written as \xN without padding, so U+0001 "F" and U+001F agree),
 *   a literal "\x" (indistinguishable from CANL's escapes);
 * - "/X=" or "+X=" inside a value (no escaping: indistinguishable from another RDN or AVA);
 * - values CANL does not print as they are: C and DC keep the low byte of each character, a
 *   leading backslash and spaces after a leading "#" are dropped.
 */
export function ambiguityInGridDn(name: ParsedName): string | undefined {
  for (const ava of name.flat()) {
    const label = canlLabel(ava.oid);
    if (ava.tag === 0x03) continue; // BIT STRING: its bytes, as they are
    if (ava.tag === 0x1c) return `the value of ${label} is a UniversalString, which dCache writes as "#1C..." text`;
    let intended: string;
    if (ava.tag === 0x0c) {
      try {
        intended = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(ava.content);
      } catch {
        return `the value of ${label} is not valid UTF-8`;
      }
    } else if (ava.tag === 0x1e) {
      intended = utf16beReplace(ava.content);
      if (ava.content.length % 2 || intended.includes('\ufffd')) return `the value of ${label} is not a valid BMPString`;
    } else intended = latin1(ava.content);
    if (/[\u0000-\u001f]/.test(intended)) return `the value of ${label} holds control characters`;
    if (intended.includes('\\x')) return `the value of ${label} holds "\\x", which dCache uses for its escapes`;
    if (/[/+][A-Za-z0-9.]+=/.test(intended)) return `the value of ${label} holds "/TYPE=" or "+TYPE=", which reads as another attribute`;
    let printed: string;
    try {
      const dn = gridDnFor([[ava]], 'jdk21');
      const bytes = Buffer.from(dn.slice(dn.indexOf('=') + 1).replace(/\\x([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
      printed = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      return `the value of ${label} cannot be written by dCache`;
    }
    if (printed !== intended) return `the value of ${label} "${intended}" comes out as "${printed}"`;
  }
  return undefined;
}

/** Internals exposed for the tests that compare each stage with the real JDK and BouncyCastle. */
export const stagesForTests = {
  javaUtf8Decode,
  javaUtf16beDecode: utf16beReplace,
  /** BC's ASN1Primitive.fromByteArray + getString()/DERBitString.getBytes(), as CANL consumes it; undefined if BC refuses it */
  bcValueText(der: Uint8Array): { bitStringBytes?: Uint8Array; text?: string } | undefined {
    try {
      const v = bcFromHex(Buffer.from(der).toString('hex'), '2.5.4.3');
      if (v.tag === 0x03) {
        const c = v.content;
        if (c[0]! > 0 && (c[c.length - 1]! & ~(0xff << c[0]!) & 0xff) !== 0) return { text: `#${HEX_UPPER(tlv(0x03, c))}` };
        return { bitStringBytes: c.subarray(1) };
      }
      return { text: bcGetString(v, 'CN') };
    } catch {
      return undefined;
    }
  },
  /** the order new DERSet(AttributeTypeAndValue[]) puts these DER-encoded AVAs in (indices) */
  derSetOrder(ders: Uint8Array[]): number[] {
    return ders.map((der, i) => ({ der, i })).sort((x, y) => (derLessOrEqual(x.der, y.der) ? (derLessOrEqual(y.der, x.der) ? 0 : -1) : 1)).map((k) => k.i);
  },
};

// ---------------------------------------------------------------------------------------------
// RFC 4514 (display).

/** RFC 4514 short names (section 3) plus the usual extras; others are written as dotted OIDs. */
const RFC4514_LABELS: Record<string, string> = {
  '2.5.4.3': 'CN', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C',
  '2.5.4.9': 'STREET', '0.9.2342.19200300.100.1.25': 'DC', '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'emailAddress', '2.5.4.5': 'serialNumber',
};

/** RFC 4514: least significant RDN first, values escaped (section 2.4), non-string values as #hex. */
export function rfc4514Dn(name: ParsedName): string {
  return [...name]
    .reverse()
    .map((rdn) => rdn.map((ava) => `${RFC4514_LABELS[ava.oid] ?? ava.oid}=${ava.text !== undefined ? escapeRfc4514(ava.text) : `#${hex(tlv(ava.tag, ava.content))}`}`).join('+'))
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
