/**
 * The portal trusts exactly what dCache trusts, from the same IGTF trust directory (real TLS, real
 * slapd, certificates and CAs made here): dCache's defaults namespace-mode
 * EUGRIDPMA_AND_GLOBUS_REQUIRE and crl-mode REQUIRE (dCache skel/share/defaults/dcache.properties),
 * enforced as CANL does (see test/core/pki/namespaces.test.ts for the policy rules).
 */
import { expect } from 'chai';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, createCrl, issue, type Issued } from '../support/pki.js';
import { installCa } from '../../core/pki/install-ca.js';
import { startTestPortal, type TestPortal } from '../support/test-portal.js';
import { useManagedSlapd } from '../support/slapd.js';
import { PortalClient } from '../support/portal-client.js';

describe('portal trust: IGTF namespaces and CRLs as dCache has them (real TLS)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  const as = (who: Issued) => new PortalClient(t.base, { ca: t.ca.certPem, cert: who.certPem, key: who.keyPem });

  before(async () => {
    t = await startTestPortal(fx);
  });
  after(async () => {
    await t?.close();
  });

  it("a second trusted CA issuing pat's DN outside its namespace is refused and never reaches pat's account", async () => {
    const other = await createCa([{ DC: ['org'] }, { DC: ['other'] }, { CN: ['Other Trusted CA'] }]);
    installCa(t.trustDir, { certPem: other.certPem, crlPem: (await createCrl(other, [])).toString('pem'), namespacePrefix: '/DC=org/DC=other/' });
    const forged = await issue(other, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Pat PI'] }], 'user');
    const r = await as(forged).get('/login/certificate');
    expect(r.status).to.equal(403);
    expect(r.body).to.match(/dCache would refuse this certificate \(CA namespace policy, mode EUGRIDPMA_AND_GLOBUS_REQUIRE\)/);
    expect((await as(forged).get('/account')).status, 'no session was made').to.not.equal(200);
    // The same CA inside its namespace is fine.
    const olga = await issue(other, [{ DC: ['org'] }, { DC: ['other'] }, { CN: ['Olga Other'] }], 'user');
    expect((await as(olga).get('/login/certificate')).location).to.equal('/register');
    // The genuine pat still logs in.
    expect((await as(t.people.pat).get('/login/certificate')).location).to.equal('/account');
  });

  it('a CA with no namespace policy at all is refused under the default mode', async () => {
    const bare = await createCa([{ DC: ['org'] }, { DC: ['bare'] }, { CN: ['Bare CA'] }]);
    installCa(t.trustDir, { certPem: bare.certPem, crlPem: (await createCrl(bare, [])).toString('pem') });
    const user = await issue(bare, [{ DC: ['org'] }, { DC: ['bare'] }, { CN: ['Bea'] }], 'user');
    const r = await as(user).get('/login/certificate');
    expect(r.status).to.equal(403);
    expect(r.body).to.match(/has no namespace policy .*EUGRIDPMA_AND_GLOBUS_REQUIRE requires one/);
  });

  it('a CRL replaced on disk takes effect without a restart; a missing or expired CRL refuses under REQUIRE', async () => {
    const nina = t.people.nina;
    const hash = installCa(t.trustDir, { certPem: t.ca.certPem }); // the same CA: its hash
    const crlFile = join(t.trustDir, `${hash}.r0`);
    expect((await as(nina).get('/login/certificate')).location).to.equal('/register');
    // fetch-crl brings a CRL that lists nina: written aside and renamed in, as fetch-crl does.
    writeFileSync(`${crlFile}.new`, (await createCrl(t.ca, [t.people.mallory.cert, nina.cert])).toString('pem'));
    renameSync(`${crlFile}.new`, crlFile);
    const revoked = await as(nina).get('/login/certificate');
    expect(revoked.status).to.equal(403);
    expect(revoked.body).to.include('has been revoked by its CA');
    // The CRL goes missing: dCache (crl-mode REQUIRE) refuses everyone of that CA.
    rmSync(crlFile);
    const missing = await as(t.people.pat).get('/login/certificate');
    expect(missing.status).to.equal(403);
    expect(missing.body).to.match(/no CRL of .*Portal Test CA is installed/);
    // An expired one refuses too.
    writeFileSync(crlFile, (await createCrl(t.ca, [], { thisUpdate: new Date('2024-01-01'), nextUpdate: new Date('2024-01-08') })).toString('pem'));
    expect((await as(t.people.pat).get('/login/certificate')).body).to.match(/CRL .* out of date/);
    writeFileSync(crlFile, (await createCrl(t.ca, [t.people.mallory.cert])).toString('pem'));
    expect((await as(t.people.pat).get('/login/certificate')).location).to.equal('/account');
  });
});
