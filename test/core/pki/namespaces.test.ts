/**
 * The namespace policy formats and their enforcement, pinned to eu-emi/canl-java (the library
 * dCache's gPlazma and doors validate certificates with): EuGridPmaNamespacesParser,
 * GlobusNamespacesParser, OpensslNameUtils.normalize, NamespaceChecker, NamespaceCheckingMode and the
 * stores' getPolicies. The fixtures are written here in the formats those parsers read.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { checkNamespaces, type NamespaceMode, type PathCertificate } from '../../../core/pki/namespace-check.js';
import { normalizeLegacyDn, wildcardToRegExpSource } from '../../../core/pki/legacy-dn.js';
import { parseEuGridPmaNamespaces, parseGlobusSigningPolicy, PolicySyntaxError } from '../../../core/pki/namespaces.js';

const ROOT = '/C=DE/O=GridKa/CN=GridKa Root CA';
const SUB = '/C=DE/O=GridKa/CN=GridKa Sub CA';
const OTHER = '/C=XX/O=Other/CN=Other CA';

describe('core/pki: CA namespace policies as CANL reads and enforces them', () => {
  describe('EUGridPMA .namespaces (EuGridPmaNamespacesParser)', () => {
    it('reads entries: SELF or a quoted issuer, PERMIT/DENY, keywords in any case, comments, continued lines', () => {
      const text = [
        '##############################################################################',
        '#NAMESPACES-VERSION: 1.0',
        '   # an indented comment',
        `TO Issuer "${ROOT}" \\`,
        '  PERMIT Subject "/C=DE/O=GridKa/.*"',
        'to issuer self deny subject "/C=DE/O=GridKa/CN=Bad.*"   # trailing comment',
        `TO Issuer    "${SUB}"  PER\\`,
        'MIT      Subject    "/C=DE/O=GridKa/OU=Sub/.*"',
        '',
      ].join('\n');
      const p = parseEuGridPmaNamespaces(text, 'abcd1234', '/etc/grid-security/certificates/abcd1234.namespaces');
      expect(p.map((x) => [x.issuer, x.permit, x.subject.source.replace(/\\\//g, '/')])).to.deep.equal([
        [{ dn: normalizeLegacyDn(ROOT) }, true, '^(?:/c=de/o=gridka/.*)$'],
        [{ self: true }, false, '^(?:/c=de/o=gridka/cn=bad.*)$'],
        [{ dn: normalizeLegacyDn(SUB) }, true, '^(?:/c=de/o=gridka/ou=sub/.*)$'],
      ]);
      expect(p[0]!.definedFor).to.equal('abcd1234');
      expect(p[2]!.id).to.match(/abcd1234\.namespaces:3$/);
    });

    it('refuses what CANL refuses: another version, an unknown token, an unquoted issuer, garbage after the subject, an invalid regex', () => {
      const bad = [
        '#NAMESPACES-VERSION: 2.0\nTO Issuer SELF PERMIT Subject ".*"',
        `TO Issuer "${ROOT}" DENYF Subject "/C=EU/CN=.*"`,
        `TO Issuer ${ROOT} PERMIT Subject "/C=EU/CN=.*"`,
        `TO Issuer "${ROOT}" PERMIT Subject "/C=EU/CN=.*" extra`,
        'TO Issuer SELF PERMIT Subject "/C=EU/CN=(.*"',
        'TO Issuer SELF PERMIT Subject "/C=EU/CN=.*',
        'sdfsddddddd',
      ];
      for (const text of bad) expect(() => parseEuGridPmaNamespaces(text, 'abcd1234', 'f'), text).to.throw(PolicySyntaxError);
    });
  });

  describe('Globus .signing_policy (GlobusNamespacesParser)', () => {
    it("reads access_id_CA, pos_rights and cond_subjects; wildcards * and ?; every pattern a PERMIT", () => {
      const text = [
        '# Signing policy',
        `access_id_CA      X509         '${ROOT}'`,
        'pos_rights        globus       CA:sign',
        `cond_subjects     globus       '"/C=DE/O=GridKa/*"  "/C=DE/O=KIT/CN=Host?"'`,
      ].join('\n');
      const p = parseGlobusSigningPolicy(text, 'abcd1234', 'f');
      expect(p).to.have.length(2);
      expect(p.every((x) => x.permit && 'dn' in x.issuer && x.issuer.dn === normalizeLegacyDn(ROOT))).to.equal(true);
      expect(p[0]!.subject.test('/c=de/o=gridka/cn=anyone')).to.equal(true);
      expect(p[1]!.subject.test('/c=de/o=kit/cn=host1')).to.equal(true);
      expect(p[1]!.subject.test('/c=de/o=kit/cn=host12')).to.equal(false);
    });

    it('refuses a wrong access type, a missing CA:sign, an unterminated quote, patterns not separated by spaces', () => {
      for (const text of [
        `access_id_CA X609 '${ROOT}'\npos_rights globus CA:sign\ncond_subjects globus '"/C=DE/*"'`,
        `access_id_CA X509 '${ROOT}'\ncond_subjects globus '"/C=DE/*"'`,
        `access_id_CA X509 '${ROOT}\npos_rights globus CA:sign\ncond_subjects globus '"/C=DE/*"'`,
        `access_id_CA X509 '${ROOT}'\npos_rights globus CA:sign\ncond_subjects globus '"/C=DE/*""/C=FR/*"'`,
      ]) expect(() => parseGlobusSigningPolicy(text, 'abcd1234', 'f'), text).to.throw(PolicySyntaxError);
    });
  });

  describe('normalization (OpensslNameUtils.normalize) and wildcards (makeRegexpClassicWildcard)', () => {
    it('maps label aliases and lower-cases the whole DN', () => {
      expect(normalizeLegacyDn('/C=DE/E=a@b/Email=c@d/emailAddress=e@f/UserID=x/S=BW/CN=Pat')).to.equal('/c=de/emailaddress=a@b/emailaddress=c@d/emailaddress=e@f/uid=x/st=bw/cn=pat');
      expect(normalizeLegacyDn('/CN=a/b/OU=c'), 'a value with "/" swallows the next label as CANL does').to.equal('/cn=a/b/ou=c');
    });

    it('wildcards become a regex where everything else is literal (property)', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 60 }), (literal) => {
          const clean = literal.replace(/[*?]/g, '');
          expect(new RegExp(`^${wildcardToRegExpSource(clean)}$`).test(clean)).to.equal(true);
          expect(new RegExp(`^${wildcardToRegExpSource(`${clean}*`)}$`).test(`${clean}anything`)).to.equal(true);
        }),
        { seed: 20261201, numRuns: 300 },
      );
    });

    it('any file content ends in policies or a PolicySyntaxError, never another exception (property)', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 400 }), fc.constantFrom('to issuer self permit subject "', 'access_id_CA X509 \'', '#NAMESPACES-VERSION: 1.0\n', ''), (body, prefix) => {
          for (const parse of [parseEuGridPmaNamespaces, parseGlobusSigningPolicy]) {
            try {
              expect(parse(prefix + body, '00000000', 'f')).to.be.an('array');
            } catch (err) {
              expect(err).to.be.instanceOf(PolicySyntaxError);
            }
          }
        }),
        { seed: 20261201, numRuns: 500 },
      );
    });
  });

  describe('enforcement (NamespaceChecker with dCache\'s modes)', () => {
    const HASH_ROOT = '11111111';
    const HASH_SUB = '22222222';
    const HASH_OTHER = '33333333';
    const rootNs = parseEuGridPmaNamespaces(
      [`TO Issuer SELF PERMIT Subject "${SUB}"`, `TO Issuer "${SUB}" PERMIT Subject "/C=DE/O=GridKa/OU=Users/.*"`, `TO Issuer "${SUB}" DENY Subject "/C=DE/O=GridKa/OU=Users/CN=Mallory.*"`].join('\n'),
      HASH_ROOT, `${HASH_ROOT}.namespaces`,
    );
    const otherSp = parseGlobusSigningPolicy(`access_id_CA X509 '${OTHER}'\npos_rights globus CA:sign\ncond_subjects globus '"/C=XX/O=Other/*"'`, HASH_OTHER, `${HASH_OTHER}.signing_policy`);
    const user = (subject: string, issuer: string, issuerHash?: string): PathCertificate => ({ subjectDn: subject, issuerDn: issuer, selfSigned: false, proxy: false, ...(issuerHash ? { issuerHash } : {}) });
    const viaSub = (subject: string): PathCertificate[] => [
      user(subject, SUB, HASH_SUB),
      user(SUB, ROOT, HASH_ROOT),
      { subjectDn: ROOT, issuerDn: ROOT, selfSigned: true, proxy: false, issuerHash: HASH_ROOT },
    ];
    const check = (path: PathCertificate[], mode: NamespaceMode = 'EUGRIDPMA_AND_GLOBUS_REQUIRE') => checkNamespaces(path, mode, rootNs, otherSp);

    it("a root CA's file speaks for its sub-CA; SELF covers the sub-CA certificate itself", () => {
      expect(check(viaSub('/C=DE/O=GridKa/OU=Users/CN=Pat'))).to.deep.equal([]);
    });

    it('a subject outside the namespace, or under a DENY, is refused', () => {
      expect(check(viaSub('/C=DE/O=Evil/CN=Pat')).join()).to.match(/outside the namespace its CA .*GridKa Sub CA may issue/);
      expect(check(viaSub('/C=DE/O=GridKa/OU=Users/CN=Mallory Smith')).join()).to.match(/denied by the EUGridPMA namespace policy/);
    });

    it("a second trusted CA issuing pat's DN outside its namespace is refused (the takeover dCache prevents)", () => {
      const forged = [user('/C=DE/O=GridKa/OU=Users/CN=Pat', OTHER, HASH_OTHER), { subjectDn: OTHER, issuerDn: OTHER, selfSigned: true, proxy: false, issuerHash: HASH_OTHER }];
      expect(check(forged).join()).to.match(/outside the namespace its CA \/C=XX\/O=Other\/CN=Other CA may issue \(Globus/);
      expect(check([user('/C=XX/O=Other/CN=Olga', OTHER, HASH_OTHER), forged[1]!])).to.deep.equal([]);
    });

    it('a CA with no policy: refused by the _REQUIRE modes (dCache default), accepted by the others and by IGNORE', () => {
      const lone = [user('/C=YY/CN=Anyone', '/C=YY/CN=Lone CA', '44444444'), { subjectDn: '/C=YY/CN=Lone CA', issuerDn: '/C=YY/CN=Lone CA', selfSigned: true, proxy: false, issuerHash: '44444444' }];
      expect(check(lone).join()).to.match(/has no namespace policy .* EUGRIDPMA_AND_GLOBUS_REQUIRE requires one/);
      for (const mode of ['EUGRIDPMA_GLOBUS_REQUIRE', 'GLOBUS_REQUIRE', 'EUGRIDPMA_REQUIRE', 'GLOBUS_EUGRIDPMA_REQUIRE'] as const) expect(check(lone, mode), mode).to.have.length(1);
      for (const mode of ['EUGRIDPMA_AND_GLOBUS', 'EUGRIDPMA_GLOBUS', 'GLOBUS_EUGRIDPMA', 'GLOBUS', 'EUGRIDPMA', 'IGNORE'] as const) expect(check(lone, mode), mode).to.deep.equal([]);
    });

    it('modes choose the formats: a Globus-only CA is unchecked under EUGRIDPMA and refused under EUGRIDPMA_REQUIRE', () => {
      const forged = [user('/C=DE/CN=Pat', OTHER, HASH_OTHER), { subjectDn: OTHER, issuerDn: OTHER, selfSigned: true, proxy: false, issuerHash: HASH_OTHER }];
      expect(check(forged, 'EUGRIDPMA')).to.deep.equal([]);
      expect(check(forged, 'EUGRIDPMA_REQUIRE').join()).to.match(/has no namespace policy/);
      expect(check(forged, 'GLOBUS').join()).to.match(/outside the namespace/);
    });

    it('proxies and self-signed certificates are not checked', () => {
      const path = viaSub('/C=DE/O=GridKa/OU=Users/CN=Pat');
      const proxy: PathCertificate = { subjectDn: '/C=DE/O=GridKa/OU=Users/CN=Pat/CN=123', issuerDn: '/C=DE/O=GridKa/OU=Users/CN=Pat', selfSigned: false, proxy: true };
      expect(check([proxy, ...path])).to.deep.equal([]);
    });
  });
});
