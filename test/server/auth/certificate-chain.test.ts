import { expect } from 'chai';
import { CertificateRefused, verifyChain, type TrustStore } from '../../../server/auth/certificate-chain.js';
import { chainFromHeader } from '../../../server/auth/certificate-login.js';
import { startChainVerifyServer, type ChainVerifyServer } from '../../support/chain-verify-server.js';
import { trustOf } from '../../../core/pki/trust-directory.js';
import { createCa, createCrl, issue, issueProxy, type Issued } from '../../support/pki.js';

const der = (i: Issued) => new Uint8Array(i.cert.rawData);

describe('server/auth/certificate-chain (real TLS, certificates made here)', function () {
  this.timeout(60000);
  let ca: Issued, otherCa: Issued, alice: Issued, revoked: Issued, expired: Issued, proxy: Issued, proxy2: Issued, intermediate: Issued, viaIntermediate: Issued;
  let store: TrustStore;
  let server: ChainVerifyServer;

  before(async () => {
    ca = await createCa([{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Example Grid CA'] }]);
    otherCa = await createCa([{ CN: ['Rogue CA'] }]);
    alice = await issue(ca, [{ DC: ['org'] }, { DC: ['example'] }, { O: ['Users'] }, { CN: ['Alice Jürgens'] }], 'user');
    revoked = await issue(ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Mallory'] }], 'user');
    expired = await issue(ca, [{ CN: ['Old Timer'] }], 'user', { notBefore: new Date('2020-01-01'), notAfter: new Date('2021-01-01') });
    proxy = await issueProxy(alice);
    proxy2 = await issueProxy(proxy);
    intermediate = await issue(ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Sub CA'] }], 'ca');
    viaIntermediate = await issue(intermediate, [{ DC: ['org'] }, { CN: ['Ivy'] }], 'user');
    // Namespace policies are tested with a real trust directory (trust/*.test.ts, portal tests); here the chain rules.
    const trust = trustOf({ cas: [ca.cert], crls: [await createCrl(ca, [revoked.cert]), await createCrl(intermediate, [])] });
    store = { current: () => trust, namespaceMode: 'IGNORE', crlMode: 'REQUIRE' };
    server = await startChainVerifyServer(ca, store);
  });
  after(() => server.close());

  const login = (certs: Issued[], key?: string) => server.login(certs, key);

  it('accepts a user certificate and maps its subject (grid form, CANL rules)', async () => {
    const r = await login([alice]);
    expect(r).to.include({ ok: true, subjectGrid: '/DC=org/DC=example/O=Users/CN=Alice J\\xC3\\xBCrgens', issuerGrid: '/DC=org/DC=example/CN=Example Grid CA', isProxy: false });
  });

  it('accepts an RFC 3820 proxy (and a proxy of a proxy) and maps the END-ENTITY subject', async () => {
    expect(await login([proxy, alice])).to.include({ ok: true, subjectGrid: '/DC=org/DC=example/O=Users/CN=Alice J\\xC3\\xBCrgens', isProxy: true });
    expect(await login([proxy2, proxy, alice])).to.include({ ok: true, subjectGrid: '/DC=org/DC=example/O=Users/CN=Alice J\\xC3\\xBCrgens', isProxy: true });
  });

  it('accepts a certificate issued by an intermediate CA presented in the chain', async () => {
    expect(await login([viaIntermediate, intermediate])).to.include({ ok: true, subjectGrid: '/DC=org/CN=Ivy' });
  });

  it('refuses revoked, expired, wrong-CA certificates and proxies of a revoked certificate, with a readable reason', async () => {
    expect(await login([revoked])).to.deep.include({ ok: false, refused: true }).and.have.property('error').that.matches(/revoked/);
    const revokedProxy = await issueProxy(revoked);
    expect(await login([revokedProxy, revoked])).to.have.property('error').that.matches(/revoked/);
    expect(await login([expired])).to.have.property('error').that.matches(/expired on 2021/);
    const rogue = await issue(otherCa, [{ CN: ['Alice Jürgens'] }], 'user');
    expect(await login([rogue])).to.have.property('error').that.matches(/not issued by a CA this portal trusts/);
  });

  it('refuses forged and broken proxy chains', async () => {
    const expiredProxy = await issueProxy(alice, { notBefore: new Date('2020-01-01'), notAfter: new Date('2020-01-02') });
    expect(await login([expiredProxy, alice])).to.have.property('error').that.matches(/proxy certificate expired/);
    const limited = await issueProxy(alice, { pathLen: 0 });
    const below = await issueProxy(limited);
    expect(await login([below, limited, alice])).to.have.property('error').that.matches(/path length/);
    const bob = await issue(ca, [{ CN: ['Bob'] }], 'user');
    const bobsProxy = await issueProxy(bob);
    // Node links the peer chain by issuer, so Alice's certificate is not linked to Bob's proxy at all.
    expect(await login([bobsProxy, alice], bobsProxy.keyPem)).to.have.property('error').that.matches(/proxy chain is broken|only proxy certificates/);
    await expectRefused(verifyChain([der(bobsProxy), der(alice)], store), /proxy chain is broken/);
  });

  // CANL CrlCheckingMode and RFC3280CertPathUtilitiesCanl.checkCRL: an expired CRL is crlVerifyFailed in
  // every mode but IGNORE; only a missing one (noValidCrlFound) passes IF_VALID (CRLRevocationChecker).
  it('CRL modes as dCache/CANL: REQUIRE needs a current CRL, IF_VALID refuses only a bad one, IGNORE checks nothing', async () => {
    const staleCrl = await createCrl(ca, [], { thisUpdate: new Date('2024-01-01'), nextUpdate: new Date('2024-01-08') });
    const stale = trustOf({ cas: [ca.cert], crls: [staleCrl] });
    const none = trustOf({ cas: [ca.cert] });
    const withModes = (t: ReturnType<typeof trustOf>, crlMode: TrustStore['crlMode']): TrustStore => ({ current: () => t, namespaceMode: 'IGNORE', crlMode });
    await expectRefused(verifyChain([der(alice)], withModes(stale, 'REQUIRE')), /CRL .* out of date/);
    await expectRefused(verifyChain([der(alice)], withModes(stale, 'IF_VALID')), /CRL .* out of date/);
    expect((await verifyChain([der(alice)], withModes(stale, 'IGNORE'))).subjectGrid).to.match(/Alice/);
    await expectRefused(verifyChain([der(alice)], withModes(none, 'REQUIRE')), /no CRL of .*Example Grid CA is installed/);
    expect((await verifyChain([der(alice)], withModes(none, 'IF_VALID'))).subjectGrid).to.match(/Alice/);
    // An out-of-date CRL beside a current one: the current one decides (one valid CRL is enough).
    const both = trustOf({ cas: [ca.cert], crls: [staleCrl, await createCrl(ca, [revoked.cert])] });
    expect((await verifyChain([der(alice)], withModes(both, 'REQUIRE'))).subjectGrid).to.match(/Alice/);
    await expectRefused(verifyChain([der(revoked)], withModes(both, 'IF_VALID')), /revoked/);
  });

  it('refuses when no certificate is presented', async () => {
    await expectRefused(verifyChain([], store), /no client certificate/);
  });

  it('refuses garbage, oversized and overlong chains without crashing', async () => {
    await expectRefused(verifyChain([new Uint8Array([0x30, 0x82, 0xff, 0xff, 1, 2, 3])], store), /malformed/);
    await expectRefused(verifyChain([new Uint8Array(20000)], store), /at most 16384/);
    await expectRefused(verifyChain(Array.from({ length: 11 }, () => der(alice)), store), /at most 10/);
    expect(() => chainFromHeader('%E0%A4%A')).to.throw(CertificateRefused, /URL-encoded/);
    expect(chainFromHeader(encodeURIComponent(proxy.certPem + '\n' + alice.certPem))).to.have.length(2);
  });

  async function expectRefused(p: Promise<unknown>, re: RegExp) {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(CertificateRefused).with.property('message').that.matches(re);
  }
});
