/**
 * Proxies and subjects as dCache treats them (real TLS, certificates made here). Sources:
 * CANL 2.8.3 helpers/proxy/ProxyHelper.getProxyType (RFC 3820 / draft 1.3.6.1.4.1.3536.1.222 /
 * legacy by last CN, lower-cased) and getLastCN, proxy/ProxyUtils.getEndUserCertificate (first
 * non-proxy of the chain), helpers/proxy/DraftRFCProxyCertInfoExtension (draft layout),
 * helpers/pkipath/BCCertPathValidator.checkPairWithProxy (proxy types may not mix);
 * dCache gplazma2-grid X509Plugin ("X.509 chain contains no End-Entity Certificate").
 */
import { expect } from 'chai';
import { CertificateRefused, verifyChain, type TrustStore } from '../../../server/auth/certificate-chain.js';
import { trustOf } from '../../../core/pki/trust-directory.js';
import { startChainVerifyServer, type ChainVerifyServer } from '../../support/chain-verify-server.js';
import { createCa, issue, issueProxy, type Issued } from '../../support/pki.js';
import { issueRawSubject, issueShapedProxy } from '../../support/cert-shapes.js';
import { nameDer, OIDS, rdn, TAG } from '../../support/der-name.js';

describe('server/auth/certificate-chain: proxies and subjects as dCache treats them', function () {
  this.timeout(60000);
  let ca: Issued, alice: Issued;
  let server: ChainVerifyServer;
  let store: TrustStore;
  const ALICE = '/DC=org/DC=example/CN=Alice';

  before(async () => {
    ca = await createCa([{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Example Grid CA'] }]);
    alice = await issue(ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Alice'] }], 'user');
    store = { current: () => trustOf({ cas: [ca.cert] }), namespaceMode: 'IGNORE', crlMode: 'IF_VALID' };
    server = await startChainVerifyServer(ca, store);
  });
  after(() => server.close());

  /**
   * Draft and legacy proxies cannot come through Node's TLS with their end-entity certificate:
   * Node links the peer chain with X509_check_issued, which only lets RFC 3820 proxies be issued by
   * a non-CA certificate. So chains are handed to verifyChain as the reverse-proxy header path
   * does, and single certificates go through real TLS.
   */
  async function verify(certs: Issued[]): Promise<Record<string, unknown>> {
    try {
      return { ok: true, ...(await verifyChain(certs.map((c) => new Uint8Array(c.cert.rawData)), store)) };
    } catch (err) {
      return { ok: false, error: (err as Error).message, refused: err instanceof CertificateRefused };
    }
  }

  const login = (certs: Issued[], key?: string) => server.login(certs, key);

  describe('draft-RFC (GT3) proxies: ProxyCertInfo 1.3.6.1.4.1.3536.1.222, accepted like RFC 3820', () => {
    it('a draft proxy and a draft proxy of it map the end-entity subject', async () => {
      const p1 = await issueShapedProxy(alice, { type: 'draft' });
      const p2 = await issueShapedProxy(p1, { type: 'draft' });
      expect(await verify([p1, alice])).to.include({ ok: true, subjectGrid: ALICE, isProxy: true });
      expect(await verify([p2, p1, alice])).to.include({ ok: true, subjectGrid: ALICE, isProxy: true });
    });

    it('over a direct TLS connection a draft proxy arrives without its EEC (Node/OpenSSL linking): refused with advice', async () => {
      const p1 = await issueShapedProxy(alice, { type: 'draft' });
      expect(await login([p1, alice])).to.deep.include({ ok: false, refused: true }).and.have.property('error').that.matches(/draft \(GT3\) proxy reaches the portal without your certificate/);
    });

    it('honours the draft path length ([1] EXPLICIT INTEGER after the policy)', async () => {
      const limited = await issueShapedProxy(alice, { type: 'draft', pathLen: 0 });
      const below = await issueShapedProxy(limited, { type: 'draft' });
      expect(await verify([limited, alice])).to.include({ ok: true });
      expect(await verify([below, limited, alice])).to.have.property('error').that.matches(/path length/);
    });

    it('refuses a chain that mixes draft and RFC 3820 proxies (CANL: proxyTypeInconsistent)', async () => {
      const draft = await issueShapedProxy(alice, { type: 'draft' });
      const rfcOnDraft = await issueProxy(draft);
      expect(await verify([rfcOnDraft, draft, alice])).to.have.property('error').that.matches(/mixes RFC 3820 and draft/);
    });
  });

  describe('legacy proxies and CN=proxy', () => {
    it('a legacy proxy is refused with advice, its last CN recognised in any case', async () => {
      for (const cn of ['proxy', 'limited proxy', 'PROXY', 'Limited Proxy']) {
        const legacy = await issueShapedProxy(alice, { type: 'legacy', cn });
        expect(await verify([legacy, alice]), cn).to.deep.include({ ok: false, refused: true })
          .and.have.property('error').that.matches(/legacy Globus proxy certificates are not accepted: create an RFC 3820 proxy/);
      }
    });

    it('a CA-issued certificate whose subject ends in CN=proxy / CN=limited proxy is refused: dCache finds no end-entity certificate', async () => {
      for (const cn of ['proxy', 'Limited Proxy']) {
        const odd = await issue(ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: [cn] }], 'user');
        expect(await login([odd]), cn).to.deep.include({ ok: false, refused: true })
          .and.have.property('error').that.matches(/finds no end-entity certificate/);
      }
      const legacy0 = await issueShapedProxy(alice, { type: 'legacy' });
      const fine = await issue(ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['proxy server'] }], 'user');
      expect(await login([legacy0])).to.have.property('error').that.matches(/legacy Globus proxy/); // over TLS: its issuer is not passed on
      expect(await login([fine])).to.include({ ok: true, subjectGrid: '/DC=org/DC=example/CN=proxy server' });
    });
  });

  describe('subjects', () => {
    it('a subject with a non-string value (an INTEGER, a GeneralizedTime dateOfBirth) is refused: dCache cannot use it', async () => {
      for (const bad of [rdn('1.2.3.4', TAG.INTEGER, Uint8Array.from([0x2a])), rdn(OIDS.DATE_OF_BIRTH, TAG.GENERALIZED_TIME, '19700101000000Z')]) {
        // OpenSSL (Node's TLS) cannot even load such a certificate (X509_NAME values are ASN1_PRINTABLE):
        // it reaches the portal only through the reverse-proxy header, i.e. verifyChain
        const c = await issueRawSubject(ca, nameDer([rdn(OIDS.O, TAG.UTF8, 'Ex'), bad, rdn(OIDS.CN, TAG.UTF8, 'Nonstring')]));
        expect(await verify([c])).to.deep.include({ ok: false, refused: true })
          .and.have.property('error').that.matches(/^dCache cannot use this certificate: the value of (1.2.3.4|DateOfBirth) is an? (INTEGER|GeneralizedTime), not text/);
      }
    });

    it('a subject another subject could spell the same way is refused (trailing controls, C/DC beyond Latin-1, "/CN=" inside a value)', async () => {
      for (const [spec, why] of [
        [[rdn(OIDS.O, TAG.UTF8, 'Ex'), rdn(OIDS.CN, TAG.UTF8, 'Alice\t')], /control characters/],
        [[rdn(OIDS.C, TAG.UTF8, 'Ĉ'), rdn(OIDS.CN, TAG.UTF8, 'Bob')], /comes out as/],
        [[rdn(OIDS.O, TAG.UTF8, 'Ex'), rdn(OIDS.CN, TAG.UTF8, 'Eve/CN=Alice')], /reads as another attribute/],
        [[rdn(OIDS.O, TAG.UTF8, 'Ex'), rdn(OIDS.CN, TAG.UTF8, '\\Alice')], /comes out as "Alice"/],
      ] as const) {
        const c = await issueRawSubject(ca, nameDer(spec as never));
        expect(await login([c])).to.deep.include({ ok: false, refused: true }).and.have.property('error').that.matches(why);
      }
    });

    it('returns every form dCache could compute (BMPString: JDK 21 and JDK 17) and the DER subject', async () => {
      const der = nameDer([rdn(OIDS.O, TAG.PRINTABLE, 'Ex'), rdn(OIDS.CN, TAG.BMP, 'Jü')]);
      const c = await issueRawSubject(ca, der);
      const r = await login([c]);
      expect(r).to.include({ ok: true, subjectGrid: '/O=Ex/CN=J\\xC3\\xBC', subjectDer: Buffer.from(der).toString('base64') });
      expect(r.subjectGridForms).to.deep.equal(['/O=Ex/CN=J\\xC3\\xBC', '/O=Ex/CN=\\x0J\\x0\\xEF\\xBF\\xBD']);
    });
  });
});
