/**
 * The grid DN exactly as dCache computes it at login: gPlazma X509Plugin ->
 * new GlobusPrincipal(eec.getSubjectX500Principal()) (dCache modules/common
 * org/globus/gsi/gssapi/jaas/GlobusPrincipal.java) -> CANL 2.8.3
 * OpensslNameUtils.convertFromRfc2253(principal.getName(), true) on BouncyCastle 1.79.
 *
 * Every rule is pinned with the exact expected string and the source it comes from. Sources read:
 *   JDK  sun/security/x509/AVA.java (toRFC2253String, isDerString, getCharset, AVAKeyword table,
 *        AVA(DerValue) -> validateBMPString), RDN.java, X500Name.java, java/lang/String.java
 *        (decodeUTF8_UTF16), sun/nio/cs/UnicodeDecoder.java — JDK 17 before the charset fix
 *        (openjdk jdk17u as mirrored at typetools/jdk17u 63d9fba), JDK 17.0.21, JDK 21u, JDK 25.
 *   BC   1.79 (bc-java tag r1rv79): x500/style/IETFUtils.java (rDNsFromString, unescape,
 *        valueFromHexString), X500NameTokenizer.java, AbstractX500NameStyle.stringToValue,
 *        BCStyle.encodeStringValue, x500/RDN.java (new DERSet), ASN1Set.java (sort,
 *        lessThanOrEqual), ASN1BitString.java (createPrimitive, getBytes, getString),
 *        ASN1UniversalString.getString, ASN1BMPString, ASN1UTF8String, util/Strings.java.
 *   CANL 2.8.3 (canl-java tag canl-2.8.3): impl/OpensslNameUtils.java (convertFromRfc2253,
 *        getShortName4Openssl, normalizeLabel, NORMALIZED_LABELS, getOpensslValue),
 *        helpers/JavaAndBCStyle.java (asn2String, asn2StringAll).
 *
 * Real counterparts run at test time: the JDK stage (X500Principal.getName(), new String(..,
 * UTF_8/UTF_16BE)) with every JDK installed (test/support/jdk/DnHarness.java), BouncyCastle's
 * string classes, BIT STRING handling and DER SET sort with Debian's libbcprov-java
 * (test/support/jdk/BcHarness.java). CANL itself is not packaged anywhere we may fetch from;
 * the whole pipeline (gridDnFor(name, 'jdk21')) was checked once, by hand and outside this
 * repository, against the real thing: OpensslNameUtils.convertFromRfc2253(new
 * X500Principal(der).getName(), true) with CANL 2.8.3 and BC 1.79 compiled from their sources,
 * on JDK 17.0.21 and JDK 25, for about 30,000 random names (any of 12 value types, hostile
 * characters, raw bytes, multi-valued RDNs): no difference, refusals included.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import {
  JDK_DECODINGS, UnusableByDcacheError, ambiguityInGridDn, gridDn, gridDnFor, gridDnForms, javaRfc2253, parseName, stagesForTests, type JdkDecoding,
} from '../../../core/identity/x509-name.js';
import { ValidationError } from '../../../core/errors.js';
import { OIDS, TAG, avaDer, hexOf, nameDer, rdn, tlv, type AvaSpec } from '../../support/der-name.js';
import { BCPROV_JAR, installedJdks, javaEscape, runHarness } from '../../support/java.js';

const forms = (rdns: AvaSpec[][]) => gridDnForms(nameDer(rdns)).forms;
const one = (rdns: AvaSpec[][]) => {
  const f = forms(rdns);
  expect(f, 'one form on every JDK').to.have.length(1);
  return f[0];
};
const O_EX = rdn(OIDS.O, TAG.UTF8, 'Ex');

describe('core/identity/x509-name: the grid DN dCache computes', function () {
  this.timeout(120000);

  describe('multi-valued RDNs', () => {
    // BC RDN(AttributeTypeAndValue[]) -> new DERSet(...) sorts the AVAs by DER encoding
    // (ASN1Set.sort/lessThanOrEqual); CANL convertFromRfc2253 walks each RDN's AVAs backwards.
    it('SET{UID=robot1, CN=robot} in either encoding order -> /UID=robot1+CN=robot', () => {
      const a = one([O_EX, [[OIDS.UID, TAG.UTF8, 'robot1'], [OIDS.CN, TAG.UTF8, 'robot']]]);
      const b = one([O_EX, [[OIDS.CN, TAG.UTF8, 'robot'], [OIDS.UID, TAG.UTF8, 'robot1']]]);
      expect(a).to.equal('/O=Ex/UID=robot1+CN=robot');
      expect(b).to.equal(a);
    });

    it('sorts after BC re-encoding: CN as PrintableString or UTF8String sorts the same (BC writes UTF8String)', () => {
      // OU and CN have equal-length OIDs; BC re-encodes both values as UTF8String, so the values decide
      const a = one([[[OIDS.OU, TAG.PRINTABLE, 'b'], [OIDS.CN, TAG.UTF8, 'a']]]);
      const b = one([[[OIDS.CN, TAG.PRINTABLE, 'a'], [OIDS.OU, TAG.UTF8, 'b']]]);
      expect(a).to.equal('/OU=b+CN=a');
      expect(b).to.equal(a);
    });
  });

  describe('labels (JavaAndBCStyle.asn2StringAll, then OpensslNameUtils.normalizeLabel)', () => {
    const cases: [string, string, string][] = [
      ['IP: normalizeLabel("ip") is the OID', OIDS.IP, '/1.3.6.1.4.1.42.2.11.2.1=10.0.0.1'],
      ['title: T', OIDS.T, '/T=10.0.0.1'],
      ['street: STREET', OIDS.STREET, '/STREET=10.0.0.1'],
      ['surname: sn', OIDS.SURNAME, '/sn=10.0.0.1'],
      ['givenName: gn', OIDS.GIVENNAME, '/gn=10.0.0.1'],
      ['serialNumber: SERIALNUMBER', OIDS.SERIALNUMBER, '/SERIALNUMBER=10.0.0.1'],
      ['emailAddress: EMAILADDRESS', OIDS.EMAIL, '/EMAILADDRESS=10.0.0.1'],
      ['dnQualifier: asn2StringAll DN -> dnQualifier', OIDS.DNQ, '/dnQualifier=10.0.0.1'],
      ['generationQualifier: GENERATION -> generationQualifier', '2.5.4.44', '/generationQualifier=10.0.0.1'],
      ['nameAtBirth: the OID', '1.3.36.8.3.14', '/1.3.36.8.3.14=10.0.0.1'],
      ['pseudonym: Pseudonym', '2.5.4.65', '/Pseudonym=10.0.0.1'],
      ['an unknown type: its OID', '1.2.3.4.5', '/1.2.3.4.5=10.0.0.1'],
    ];
    for (const [what, oid, expected] of cases) {
      it(what, () => expect(one([rdn(oid, TAG.PRINTABLE, '10.0.0.1')])).to.equal(expected));
    }
  });

  describe('values', () => {
    it('BIT STRING (x500UniqueIdentifier): the content bytes only (DERBitString.getBytes), not the TLV', () => {
      expect(one([rdn(OIDS.UNIQUE_ID, TAG.BIT_STRING, Uint8Array.from([0, 0xab]))])).to.equal('/x500UniqueIdentifier=\\xAB');
      expect(one([rdn(OIDS.UNIQUE_ID, TAG.BIT_STRING, Uint8Array.from([0, 0x41, 0x42]))])).to.equal('/x500UniqueIdentifier=AB');
    });

    it('BIT STRING with unused bits set: BC makes a DLBitString, CANL prints its getString() (#hex of the TLV)', () => {
      expect(one([rdn(OIDS.UNIQUE_ID, TAG.BIT_STRING, Uint8Array.from([7, 0x81]))])).to.equal('/x500UniqueIdentifier=#03020781');
    });

    it('INTEGER, OCTET STRING, GeneralizedTime (dateOfBirth): CANL getOpensslValue throws, so they are refused', () => {
      for (const spec of [
        rdn(OIDS.SERIALNUMBER, TAG.INTEGER, Uint8Array.from([0x2a])),
        rdn('2.5.4.45', TAG.OCTET_STRING, Uint8Array.from([0xab])),
        rdn(OIDS.DATE_OF_BIRTH, TAG.GENERALIZED_TIME, '19700101000000Z'),
        rdn(OIDS.CN, TAG.INTEGER, Uint8Array.from([1])),
      ]) {
        expect(() => forms([spec, rdn(OIDS.CN, TAG.UTF8, 'x')])).to.throw(UnusableByDcacheError, /^dCache cannot use this certificate: .*not text/);
      }
    });

    it('UniversalString: Java prints #hex, BC ASN1UniversalString.getString() gives "#1C" + length + upper-case hex', () => {
      expect(one([rdn(OIDS.CN, TAG.UNIVERSAL, 'Un')])).to.equal('/CN=#1C08000000550000006E');
    });

    it('VisibleString: not a Java string type (#hex), BC decodes it byte by byte', () => {
      expect(one([rdn(OIDS.CN, TAG.VISIBLE, 'Vis\xe9')])).to.equal('/CN=Vis\\xC3\\xA9');
    });

    it('C and DC: BCStyle.encodeStringValue re-encodes them as PrintableString/IA5String, keeping the low byte of each char', () => {
      // U+00DC -> DC -> "Ü"; U+65E5 (日) -> E5 -> "å"; U+672C (本) -> 2C -> ","
      expect(one([rdn(OIDS.C, TAG.UTF8, 'Ü日'), rdn(OIDS.DC, TAG.UTF8, '日本'), rdn(OIDS.CN, TAG.UTF8, '日本')]))
        .to.equal('/C=\\xC3\\x9C\\xC3\\xA5/DC=\\xC3\\xA5,/CN=\\xE6\\x97\\xA5\\xE6\\x9C\\xAC');
    });

    it('email, serialNumber, dnQualifier, telephoneNumber keep their own encoding: the JDK prints them as #hex (no RFC 2253 keyword), so encodeStringValue never sees them', () => {
      expect(one([rdn(OIDS.EMAIL, TAG.UTF8, '日@x'), rdn(OIDS.SERIALNUMBER, TAG.UTF8, '日'), rdn(OIDS.DNQ, TAG.UTF8, '日'), rdn(OIDS.TEL, TAG.UTF8, '日')]))
        .to.equal('/EMAILADDRESS=\\xE6\\x97\\xA5@x/SERIALNUMBER=\\xE6\\x97\\xA5/dnQualifier=\\xE6\\x97\\xA5/TelephoneNumber=\\xE6\\x97\\xA5');
    });

    it('leading "#": Java writes \\#, IETFUtils.unescape keeps "\\#" and drops the spaces after it, stringToValue drops the "\\"', () => {
      expect(one([rdn(OIDS.CN, TAG.UTF8, '# hash')])).to.equal('/CN=#hash');
      expect(one([rdn(OIDS.CN, TAG.UTF8, '#   a b ')])).to.equal('/CN=#a b ');
    });

    it('a leading backslash is dropped (stringToValue strips one "\\"), so "\\abc" and "abc" collide', () => {
      expect(one([rdn(OIDS.CN, TAG.UTF8, '\\abc')])).to.equal('/CN=abc');
      expect(one([rdn(OIDS.CN, TAG.UTF8, '\\#abc')])).to.equal('/CN=#abc');
    });

    it('ends trimmed: with no \\ or " in the JDK text, unescape() is String.trim(): every char <= U+0020 goes', () => {
      expect(one([rdn(OIDS.CN, TAG.UTF8, '\tAlice\x07\n')])).to.equal('/CN=Alice');
      expect(one([rdn(OIDS.CN, TAG.UTF8, '\u0001\u001fAlice\u0000 ')])).to.equal('/CN=\\x1\\x1FAlice\\x0 '); // NUL -> \00 escape, no trim
    });

    it('ends kept when the JDK text holds a \\ (an escaped , = + < > # ; " \\ or a leading/trailing space)', () => {
      expect(one([rdn(OIDS.CN, TAG.UTF8, '\tA,b\t')])).to.equal('/CN=\\x9A,b\\x9');
      expect(one([rdn(OIDS.CN, TAG.UTF8, '  Alice  ')])).to.equal('/CN=  Alice  ');
    });

    it('invalid UTF-8 in a UTF8String: the JDK decodes each bad sequence to U+FFFD (String.decodeUTF8_UTF16)', () => {
      expect(one([rdn(OIDS.CN, TAG.UTF8, Uint8Array.from([0x41, 0xff, 0x42]))])).to.equal('/CN=A\\xEF\\xBF\\xBDB');
      // a truncated 3-byte sequence at the end is ONE replacement for the JDK (WHATWG would give two)
      expect(one([rdn(OIDS.CN, TAG.UTF8, Uint8Array.from([0x41, 0xed, 0xb4]))])).to.equal('/CN=A\\xEF\\xBF\\xBD');
    });

    it('invalid UTF-8 in a UTF8String the JDK prints as #hex (e.g. title): BC Strings.fromUTF8ByteArray throws, refused', () => {
      expect(() => forms([rdn(OIDS.T, TAG.UTF8, Uint8Array.from([0x41, 0xff]))])).to.throw(UnusableByDcacheError, /not valid UTF-8/);
    });

    it('CANL prints bytes <= 0x1F and >= 0x80 as \\x + hex without padding, 0x7F as is', () => {
      expect(one([rdn(OIDS.CN, TAG.UTF8, 'a\u0005\u007fé')])).to.equal('/CN=a\\x5\u007f\\xC3\\xA9');
    });

    it('no escaping of / , + = inside values', () => {
      expect(one([rdn(OIDS.O, TAG.UTF8, 'a/b,c+d=e;f<g>"h"')])).to.equal('/O=a/b,c+d=e;f<g>"h"');
    });
  });

  describe('JDK-dependent decoding: every form dCache could compute, the JDK 21 one first', () => {
    // JDK 21 (and 17.0.21): AVA.getCharset -> ISO_8859_1 for Printable/T61/IA5/General, UTF_16BE for BMP.
    // JDK 17 before the fix: new String(value.getDataBytes(), UTF_8) for every type.
    it('BMPString', () => {
      expect(forms([rdn(OIDS.CN, TAG.BMP, 'Jürgen')])).to.deep.equal(['/CN=J\\xC3\\xBCrgen', '/CN=\\x0J\\x0\\xEF\\xBF\\xBD\\x0r\\x0g\\x0e\\x0n']);
    });

    it('T61String and IA5String with high bytes', () => {
      expect(forms([rdn(OIDS.CN, TAG.T61, 'M\xfcller')])).to.deep.equal(['/CN=M\\xC3\\xBCller', '/CN=M\\xEF\\xBF\\xBDller']);
      expect(forms([rdn(OIDS.O, TAG.IA5, 'Caf\xe9')])).to.deep.equal(['/O=Caf\\xC3\\xA9', '/O=Caf\\xEF\\xBF\\xBD']);
    });

    it('ASCII in any type: one form', () => {
      expect(forms([rdn(OIDS.CN, TAG.BMP, ''), rdn(OIDS.CN, TAG.T61, 'Bob')])).to.deep.equal(['/CN=/CN=Bob']);
      expect(forms([rdn(OIDS.CN, TAG.IA5, 'Bob')])).to.deep.equal(['/CN=Bob']);
    });

    it('a BMPString holding a surrogate pair: JDK 21 refuses the certificate (AVA -> validateBMPString)', () => {
      expect(() => forms([rdn(OIDS.CN, TAG.BMP, 'x😀')])).to.throw(UnusableByDcacheError, /Basic Multilingual Plane/);
    });
  });

  describe('ambiguityInGridDn: subjects whose grid DN another subject could produce', () => {
    const why = (rdns: AvaSpec[][]) => ambiguityInGridDn(parseName(nameDer(rdns)));
    it('plain subjects, other string types, Latin-1 T61 and BMP text are fine', () => {
      expect(why([rdn(OIDS.DC, TAG.IA5, 'org'), rdn(OIDS.O, TAG.PRINTABLE, 'Ex'), rdn(OIDS.CN, TAG.UTF8, 'Jürgen Müller 日本'), rdn(OIDS.OU, TAG.T61, 'M\xfcnchen'), rdn(OIDS.L, TAG.BMP, 'Zürich')])).to.equal(undefined);
      expect(why([rdn(OIDS.CN, TAG.UTF8, ' spaced '), rdn(OIDS.CN, TAG.UTF8, 'a,b+c/d'), rdn(OIDS.UNIQUE_ID, TAG.BIT_STRING, Uint8Array.from([0, 1]))])).to.equal(undefined);
    });
    it('names each lossy case', () => {
      expect(why([rdn(OIDS.CN, TAG.UTF8, 'Alice\t')])).to.match(/control characters/); // trimmed by unescape()
      expect(why([rdn(OIDS.CN, TAG.UTF8, '\u0001F')])).to.match(/control characters/); // \x1F: U+0001 "F" or U+001F
      expect(why([rdn(OIDS.CN, TAG.UTF8, 'a\\x41')])).to.match(/"\\x"/);
      expect(why([rdn(OIDS.CN, TAG.UTF8, 'Eve/CN=Alice')])).to.match(/another attribute/);
      expect(why([rdn(OIDS.CN, TAG.UTF8, 'Eve+UID=alice')])).to.match(/another attribute/);
      expect(why([rdn(OIDS.C, TAG.UTF8, 'Ĉ')])).to.match(/the value of C "Ĉ" comes out as/); // low byte 0x08
      expect(why([rdn(OIDS.CN, TAG.UTF8, '\\Alice')])).to.match(/comes out as "Alice"/);
      expect(why([rdn(OIDS.CN, TAG.UTF8, '#  x')])).to.match(/comes out as "#x"/);
      expect(why([rdn(OIDS.CN, TAG.UTF8, Uint8Array.from([0x41, 0xff]))])).to.match(/not valid UTF-8/);
      expect(why([rdn(OIDS.CN, TAG.BMP, Uint8Array.from([0xdc, 0x00]))])).to.match(/not a valid BMPString/);
      expect(why([rdn(OIDS.CN, TAG.UNIVERSAL, 'x')])).to.match(/UniversalString/);
    });
  });

  describe('the API', () => {
    it('gridDn(parseName(der)) is the first form; gridDnFor picks a JDK', () => {
      const der = nameDer([rdn(OIDS.CN, TAG.BMP, 'é')]);
      expect(gridDn(parseName(der))).to.equal(gridDnForms(der).forms[0]);
      expect(gridDnFor(parseName(der), 'jdk17')).to.equal(gridDnForms(der).forms[1]);
    });

    it('UnusableByDcacheError is a ValidationError', () => {
      expect(new UnusableByDcacheError('x')).to.be.instanceOf(ValidationError);
    });
  });

  describe('any DER input ends in forms or a typed error (fast-check, fixed seed)', () => {
    const ava = fc.tuple(
      fc.constantFrom(...Object.values(OIDS), '1.2.3.4'),
      fc.constantFrom(...Object.values(TAG), 0x05, 0x30, 0x31, 0x01),
      fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.string({ maxLength: 8, unit: 'binary' })),
    ).map(([o, t, c]) => [o, t, c] as AvaSpec);
    const name = fc.array(fc.array(ava, { minLength: 1, maxLength: 3 }), { maxLength: 5 });

    it('structured names', () => {
      fc.assert(fc.property(name, (rdns) => {
        try {
          const f = gridDnForms(nameDer(rdns)).forms;
          return f.length >= 1 && f.length <= 2 && f.every((s) => typeof s === 'string');
        } catch (err) {
          return err instanceof ValidationError;
        }
      }), { seed: 8, numRuns: 2000 });
    });

    it('random bytes, and mutated names', () => {
      const mutated = fc.tuple(name, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([rdns, i, b]) => {
        const der = nameDer(rdns);
        if (der.length) der[i % der.length] = b;
        return der;
      });
      fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated), (der) => {
        try {
          gridDnForms(der);
          return true;
        } catch (err) {
          return err instanceof ValidationError;
        }
      }), { seed: 9, numRuns: 3000 });
    });

    it('a 64 KiB name is refused quickly, a deep one is computed in bounded time', () => {
      expect(() => gridDnForms(new Uint8Array(70000).fill(0x30))).to.throw(ValidationError);
      const many = Array.from({ length: 300 }, (_, i) => rdn(OIDS.OU, TAG.UTF8, `unit ${i}`));
      const t0 = Date.now();
      expect(gridDnForms(nameDer(many)).forms[0]).to.have.length.above(3000);
      expect(Date.now() - t0).to.be.below(2000);
    });
  });

  describe('compared with the real JDK at test time (X500Principal.getName, new String(bytes, charset))', () => {
    const jdks = installedJdks();
    before(function () {
      if (!jdks.length) this.skip(); // scripts/setup.sh installs openjdk-17-jdk-headless
    });

    const stringTags = [TAG.UTF8, TAG.PRINTABLE, TAG.T61, TAG.IA5, TAG.BMP, TAG.VISIBLE, TAG.GENERAL, TAG.UNIVERSAL, TAG.INTEGER, TAG.BIT_STRING];
    const chars = fc.constantFrom(...' \t\r\n\u0000\u0007#+,;=<>"\\/aZ09éü日\uFFFD'.split(''), '😀');
    const ava = fc.tuple(
      fc.constantFrom(...Object.values(OIDS), '1.2.3.4'),
      fc.constantFrom(...stringTags),
      fc.oneof(fc.array(chars, { maxLength: 8 }).map((a) => a.join('')), fc.uint8Array({ maxLength: 8 })),
    ).map(([o, t, c]) => [o, t, c] as AvaSpec);
    const names = fc.sample(fc.array(fc.array(ava, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }), { seed: 21, numRuns: 1500 });

    // JDK 21 and later decode as 'jdk21'; a JDK 17 as one of the two forms, the same for every name: 17.0.21 as
    // 'jdk21', Debian 12's 17.0.15 as 'jdk17' (before the fix: UTF-8 for every type).
    it('javaRfc2253 equals getName() on every installed JDK, or both refuse: JDK 21+ in its JDK 21 decoding, a JDK 17 in one of the two for every name', () => {
      const ders = names.map((n) => hexOf(nameDer(n)));
      const ours = (der: string, decoding: JdkDecoding): string => {
        try {
          return javaEscape(javaRfc2253(parseName(Buffer.from(der, 'hex')), decoding));
        } catch {
          return 'ERROR';
        }
      };
      for (const jdk of jdks) {
        const real = runHarness(jdk, 'DnHarness', 'name', ders).map((r) => (r.startsWith('ERROR') ? 'ERROR' : r));
        const matching = JDK_DECODINGS.filter((decoding) => ders.every((der, i) => ours(der, decoding) === real[i]));
        const major = Number(/^(\d+)/.exec(jdk.version)![1]);
        const expected: JdkDecoding = major >= 21 || matching[0] !== 'jdk17' ? 'jdk21' : 'jdk17';
        ders.forEach((der, i) => expect(ours(der, expected), `${jdk.version}: ${der}`).to.equal(real[i]));
        expect(matching, jdk.version).to.include(expected);
      }
    });

    it('our JDK UTF-8 and UTF-16BE decoders equal the JDK\'s (the JDK 17 form uses UTF-8 for every type)', () => {
      const inputs = fc.sample(fc.oneof(
        fc.uint8Array({ maxLength: 10 }),
        fc.array(fc.constantFrom(0x41, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0x90, 0xd8, 0xdc, 0x00), { maxLength: 10 }).map((a) => Uint8Array.from(a)),
      ), { seed: 22, numRuns: 3000 });
      const hexes = inputs.map(hexOf);
      for (const jdk of jdks) {
        const utf8 = runHarness(jdk, 'DnHarness', 'utf8', hexes);
        const utf16 = runHarness(jdk, 'DnHarness', 'utf16be', hexes);
        inputs.forEach((b, i) => {
          expect(javaEscape(stagesForTests.javaUtf8Decode(b)), `${jdk.version} UTF-8 ${hexes[i]}`).to.equal(utf8[i]);
          expect(javaEscape(stagesForTests.javaUtf16beDecode(b)), `${jdk.version} UTF-16BE ${hexes[i]}`).to.equal(utf16[i]);
        });
      }
    });
  });

  describe('compared with BouncyCastle at test time (Debian libbcprov-java)', () => {
    const jdk = installedJdks()[0];
    before(function () {
      if (!jdk || !existsSync(BCPROV_JAR)) this.skip(); // scripts/setup.sh installs libbcprov-java
    });

    it('string classes, BIT STRING and refusals: getString()/getBytes() as CANL uses them', () => {
      // Debian packages BC 1.72; these classes are unchanged up to 1.79 (git diff r1rv72 r1rv79 of
      // ASN1UniversalString, ASN1UTF8String, Strings/UTF8 decoding, ASN1BitString.createPrimitive/getBytes).
      const tags = [0x0c, 0x12, 0x13, 0x14, 0x15, 0x16, 0x19, 0x1a, 0x1b, 0x1c, 0x1e, 0x03, 0x02, 0x04];
      const values = fc.sample(fc.tuple(fc.constantFrom(...tags), fc.uint8Array({ maxLength: 9 })), { seed: 23, numRuns: 2000 })
        .map(([t, c]) => tlv(t, c));
      const real = runHarness(jdk!, 'BcHarness', 'value', values.map(hexOf));
      values.forEach((der, i) => {
        const mine = stagesForTests.bcValueText(der);
        const r = real[i]!;
        const label = `${hexOf(der)} -> ${r}`;
        if (r.startsWith('ERROR') || r.endsWith('NOT-A-STRING')) expect(mine, label).to.equal(undefined);
        else if (r.startsWith('DERBitString ')) expect(hexOf(mine!.bitStringBytes!), label).to.equal(r.slice('DERBitString '.length));
        else expect(javaEscape(mine!.text!), label).to.equal(r.slice(r.indexOf(' ') + 1));
      });
    });

    it('the DER SET order of a multi-valued RDN (new DERSet(ASN1Encodable[]))', () => {
      const avaArb = fc.tuple(fc.constantFrom(OIDS.CN, OIDS.UID, OIDS.OU, OIDS.C, OIDS.EMAIL, '1.2.3'), fc.constantFrom(TAG.UTF8, TAG.PRINTABLE, TAG.IA5), fc.string({ maxLength: 140, unit: 'grapheme-ascii' }))
        .map(([o, t, c]) => avaDer([o, t, c]));
      const sets = fc.sample(fc.array(avaArb, { minLength: 2, maxLength: 5 }), { seed: 24, numRuns: 800 });
      const real = runHarness(jdk!, 'BcHarness', 'sort', sets.map((s) => s.map(hexOf).join(',')));
      sets.forEach((s, i) => {
        const order = stagesForTests.derSetOrder(s);
        // equal encodings may come in any order: compare the sorted encodings themselves
        expect(order.map((j) => hexOf(s[j]!)), s.map(hexOf).join(',')).to.deep.equal(real[i]!.split(',').map((j) => hexOf(s[Number(j)]!)));
      });
    });
  });
});
