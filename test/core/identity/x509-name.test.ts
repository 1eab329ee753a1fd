import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { checkGridDn, gridDn, parseName, rfc4514Dn } from '../../../core/identity/x509-name.js';
import { ValidationError } from '../../../core/errors.js';
import { createCa, issue, type Issued, type NameSpec } from '../../support/pki.js';

/** openssl's compat (legacy one-line) form of a certificate's subject. */
function opensslCompat(cert: Issued): string {
  return execFileSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'compat'], { input: cert.certPem }).toString('latin1').replace(/\n$/, '').replace(/^subject=/, '');
}

describe('core/identity/x509-name', function () {
  this.timeout(30000);
  let ca: Issued;
  const cert = (subject: NameSpec) => issue(ca, subject, 'user');
  const grid = (c: Issued) => gridDn(parseName(c.cert.subjectName.toArrayBuffer()));

  before(async () => {
    ca = await createCa([{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Test CA'] }]);
  });

  describe('equals openssl -nameopt compat where CANL and openssl agree', () => {
    const cases: [string, NameSpec][] = [
      ['an IGTF-style DN', [{ DC: ['org'] }, { DC: ['terena'] }, { DC: ['tcs'] }, { C: ['DE'] }, { O: ['Example Institute'] }, { CN: ['Alice Smith'] }]],
      ['commas, quotes, plus, equals, semicolons, angle brackets', [{ C: ['DE'] }, { O: ['Acme, Inc. "R&D" +x=y;z <a>'] }, { CN: ['Bob'] }]],
      ['UTF-8 values as \\xNN per byte', [{ C: ['ES'] }, { O: ['Universität Zürich'] }, { CN: ['Jürgen Müller Ñandú 日本'] }]],
      ['leading and trailing spaces', [{ O: [' Spaced '] }, { CN: ['  Alice  '] }]],
      ['backslashes, hash, quote', [{ O: [{ utf8String: '#not-hex' }] }, { CN: ["O'Brien \\ back"] }]],
      ['a very long CN', [{ O: ['Long'] }, { CN: ['x'.repeat(600)] }]],
      ['an attribute type openssl and CANL both print as an OID', [{ O: ['Odd'] }, { '1.2.3.4.5.6': ['custom'] }, { CN: ['Odd One'] }]],
      ['UID (0.9.2342.19200300.100.1.1)', [{ O: ['Example'] }, { '0.9.2342.19200300.100.1.1': ['alice'] }, { CN: ['Alice'] }]],
      ['L, ST, OU', [{ C: ['DE'] }, { ST: ['Bayern'] }, { L: ['München'] }, { O: ['Ex'] }, { OU: ['Sun'] }, { CN: ['Carla'] }]],
    ];
    for (const [what, subject] of cases) {
      it(what, async () => {
        const c = await cert(subject);
        expect(grid(c)).to.equal(opensslCompat(c));
      });
    }
  });

  describe('follows CANL (dCache) where openssl differs', () => {
    // canl-java OpensslNameUtils.convertFromRfc2253 + JavaAndBCStyle.asn2StringAll: labels below.
    it('emailAddress: CANL writes EMAILADDRESS (JavaAndBCStyle label, not in NORMALIZED_LABELS); openssl emailAddress', async () => {
      const c = await cert([{ O: ['Example'] }, { CN: ['Alice'] }, { E: ['alice@example.org'] }]);
      expect(grid(c)).to.equal('/O=Example/CN=Alice/EMAILADDRESS=alice@example.org');
      expect(opensslCompat(c)).to.equal('/O=Example/CN=Alice/emailAddress=alice@example.org');
    });

    it('serialNumber, title, street, surname, givenName: CANL SERIALNUMBER, T, STREET, sn, gn', async () => {
      const c = await cert([{ O: ['Ex'] }, { '2.5.4.5': ['42'] }, { '2.5.4.12': ['Dr'] }, { '2.5.4.9': ['Main St 1'] }, { '2.5.4.4': ['Smith'] }, { '2.5.4.42': ['Ann'] }, { CN: ['Ann Smith'] }]);
      expect(grid(c)).to.equal('/O=Ex/SERIALNUMBER=42/T=Dr/STREET=Main St 1/sn=Smith/gn=Ann/CN=Ann Smith');
      expect(opensslCompat(c)).to.equal('/O=Ex/serialNumber=42/title=Dr/street=Main St 1/SN=Smith/GN=Ann/CN=Ann Smith');
    });

    it('a "/" inside a value: CANL leaves it bare, openssl escapes it as \\/', async () => {
      const c = await cert([{ O: ['Example'] }, { OU: ['a/b'] }, { CN: ['Slash'] }]);
      expect(grid(c)).to.equal('/O=Example/OU=a/b/CN=Slash');
      expect(opensslCompat(c)).to.equal('/O=Example/OU=a\\/b/CN=Slash');
    });

    it('multi-valued RDNs: joined with "+", CANL in reverse DER SET order (BC sorts; here the encoding is DER-sorted already), openssl in encoding order', async () => {
      const c = await cert([{ O: ['Example'] }, { CN: ['Jürgen'], '0.9.2342.19200300.100.1.1': ['jm'] }]);
      const openssl = opensslCompat(c);
      const [first, second] = openssl.split('/').pop()!.split('+');
      expect(grid(c)).to.equal(`/O=Example/${second}+${first}`);
    });
  });

  it('writes RFC 4514 with escaping, least significant RDN first', async () => {
    const c = await cert([{ C: ['DE'] }, { O: ['Acme, Inc.'] }, { CN: [' #Alice+Bob= '] }]);
    expect(rfc4514Dn(parseName(c.cert.subjectName.toArrayBuffer()))).to.equal('CN=\\ #Alice\\+Bob\\=\\ ,O=Acme\\, Inc.,C=DE');
    const hash = await cert([{ CN: [{ utf8String: '#lead' }] }]);
    expect(rfc4514Dn(parseName(hash.cert.subjectName.toArrayBuffer()))).to.equal('CN=\\#lead');
  });

  it('refuses garbage names and badly typed grid DNs with clear errors', () => {
    expect(() => parseName(new Uint8Array([0x30, 0x05, 0x01]))).to.throw(ValidationError, /not a valid X.509 name/);
    expect(checkGridDn('/C=DE/O=Example/CN=Alice')).to.equal('/C=DE/O=Example/CN=Alice');
    for (const bad of ['C=DE,CN=Alice', '/C=DE/CN=Jürgen', '/C=DE/O=x', `/CN=a\nb`, '/' + 'x'.repeat(1100)]) {
      expect(() => checkGridDn(bad), bad).to.throw(ValidationError);
    }
  });
});
