/**
 * The paged reader decodes every entry of a full map read straight from BER, without a general
 * LDAP client (core/ldap/paged-reader.ts decodeEntry). Properties (fixed seed): any bytes give an
 * entry or DirectoryUnavailableError, never another exception or a hang; any well-formed entry
 * (RFC 4511 SearchResultEntry: objectName, PartialAttributeList of type + SET OF values) comes back
 * with exactly its wanted attributes, matched case-insensitively, values in order, the rest ignored.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { DirectoryUnavailableError } from '../../../core/errors.js';
import { decodeEntry, wantedOf } from '../../../core/ldap/paged-reader.js';

/** A BER TLV with definite length (short or long form), as slapd writes them. */
function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : n < 0x10000 ? Buffer.from([0x82, n >> 8, n & 0xff]) : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
const str = (s: string) => tlv(0x04, Buffer.from(s, 'utf8'));

function entryBody(dn: string, attributes: [string, string[]][]): Buffer {
  const list = attributes.map(([type, values]) => tlv(0x30, Buffer.concat([str(type), tlv(0x31, Buffer.concat(values.map(str)))])));
  return Buffer.concat([str(dn), tlv(0x30, Buffer.concat(list))]);
}

const WANTED = ['uid', 'uidNumber', 'cgCertSubject'];

describe('core/ldap/paged-reader decodeEntry (property, fixed seed)', () => {
  it('any bytes: an entry or DirectoryUnavailableError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        decodeEntry(Buffer.from(bytes), wantedOf(WANTED));
      } catch (err) {
        return err instanceof DirectoryUnavailableError;
      }
      return true;
    }), { seed: 20261202, numRuns: 5000 });
  });

  it('a well-formed entry: the wanted attributes in any case, values in order (long lengths too), the others ignored', () => {
    const name = fc.constantFrom('uid', 'UID', 'uidNumber', 'UIDNUMBER', 'cgcertsubject', 'cgCertSubject', 'mail', 'cn', 'uidNumberX');
    const value = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ minLength: 130, maxLength: 400 }));
    fc.assert(fc.property(fc.string({ maxLength: 300 }), fc.uniqueArray(fc.tuple(name, fc.array(value, { maxLength: 4 })), { maxLength: 6, selector: ([n]) => n.toLowerCase() }), (dn, attributes) => {
      const [gotDn, got] = decodeEntry(entryBody(dn, attributes), wantedOf(WANTED));
      const expected = new Map(attributes.filter(([n]) => WANTED.some((w) => w.toLowerCase() === n.toLowerCase())).map(([n, v]) => [n.toLowerCase(), v]));
      expect(gotDn).to.equal(dn);
      expect(got).to.deep.equal(expected);
    }), { seed: 20261202, numRuns: 2000 });
  });

  it('a length running past its container is refused, not read beyond', () => {
    const body = entryBody('uid=a,ou=people', [['uid', ['a']]]);
    expect(() => decodeEntry(body.subarray(0, body.length - 1), wantedOf(WANTED))).to.throw(DirectoryUnavailableError, 'malformed LDAP response');
  });
});
