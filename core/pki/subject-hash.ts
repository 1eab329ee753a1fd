/**
 * OpenSSL's subject name hash (`openssl x509 -subject_hash`, X509_NAME_hash_ex): the file names of
 * an IGTF trust directory (HASH.0, HASH.r0, HASH.namespaces). Computed as OpenSSL's x509_name_canon
 * does (crypto/x509/x_name.c): every string value converted to UTF-8, leading and trailing white
 * space removed, inner runs of white space made one space, ASCII letters lower-cased, re-encoded as
 * UTF8String; each RDN's SET DER-encoded and the SETs concatenated (no outer SEQUENCE); then the
 * first four bytes of the SHA-1 of that, read little-endian, as 8 hex digits.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';
import { encodeOid, parseName, tlv, type Ava } from '../identity/x509-name.js';

// Tags OpenSSL canonicalises (ASN1_MASK_CANON): UTF8String, NumericString, PrintableString,
// T61String, IA5String, VisibleString, UniversalString, BMPString.
const CANON_TAGS = new Set([0x0c, 0x12, 0x13, 0x14, 0x16, 0x1a, 0x1c, 0x1e]);

function toText(ava: Ava): string {
  const c = Buffer.from(ava.content);
  switch (ava.tag) {
    case 0x0c:
      return c.toString('utf8');
    case 0x1e: {
      if (c.length % 2) throw new ValidationError('a BMPString of odd length');
      let s = '';
      for (let i = 0; i < c.length; i += 2) s += String.fromCharCode(c.readUInt16BE(i));
      return s;
    }
    case 0x1c: {
      if (c.length % 4) throw new ValidationError('a UniversalString whose length is not a multiple of 4');
      let s = '';
      for (let i = 0; i < c.length; i += 4) s += String.fromCodePoint(c.readUInt32BE(i));
      return s;
    }
    default:
      return c.toString('latin1'); // one byte a character (OpenSSL converts these byte by byte)
  }
}

/** asn1_string_canon: trim, collapse white space, lower-case ASCII (OpenSSL's isspace: SP, \t, \n, \v, \f, \r). */
function canon(text: string): string {
  return text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '').replace(/[ \t\n\v\f\r]+/g, ' ').replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** The subject hash of a DER-encoded name, as `openssl x509 -subject_hash` prints it. */
export function opensslSubjectHash(nameDer: Uint8Array | ArrayBuffer): string {
  const rdns = parseName(nameDer);
  const parts = rdns.map((rdn) => {
    const avas = rdn.map((ava) => {
      const value = CANON_TAGS.has(ava.tag) ? tlv(0x0c, Buffer.from(canon(toText(ava)), 'utf8')) : tlv(ava.tag, ava.content);
      return Buffer.from(tlv(0x30, Buffer.concat([tlv(0x06, encodeOid(ava.oid)), value])));
    });
    // i2d of a SET OF sorts its elements by their encodings (DER).
    avas.sort(Buffer.compare);
    return Buffer.from(tlv(0x31, Buffer.concat(avas)));
  });
  const digest = createHash('sha1').update(Buffer.concat(parts)).digest();
  return digest.readUInt32LE(0).toString(16).padStart(8, '0');
}
