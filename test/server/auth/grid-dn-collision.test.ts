/**
 * Two certificates whose subjects differ but whose grid DNs (what dCache matches) are equal: the
 * second must never log into the first one's account, nor be bound anywhere. Real TLS portal,
 * real slapd (patterns of test/server/portal.test.ts).
 *
 * dCache cannot tell such certificates apart (gPlazma matches the DN string only), so the portal
 * refuses every subject whose grid DN another subject could produce (x509-name ambiguityInGridDn):
 * here "CN=Alice Collide<TAB>", which BouncyCastle's IETFUtils.unescape trims (String.trim()) to
 * the DN of "CN=Alice Collide". Subjects that differ only in string type or in the order of a
 * multi-valued RDN are the same X.500 name (RFC 5280 section 7.1) and the same identity by design.
 */
import { expect } from 'chai';
import { gridDnForms } from '../../../core/identity/x509-name.js';
import type { RunningPortal } from '../../../server/portal.js';
import type { Issued } from '../../support/pki.js';
import { issueRawSubject } from '../../support/cert-shapes.js';
import { nameDer, OIDS, rdn, TAG } from '../../support/der-name.js';
import { decodeHtml, PortalClient } from '../../support/portal-client.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { startTestPortal, type TestPortal } from '../../support/test-portal.js';

describe('portal: a certificate whose grid DN equals another certificate\'s (real TLS, real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let portal: RunningPortal;
  let base: string;
  let first: Issued, second: Issued;
  const as = (who: Issued) => new PortalClient(base, { ca: t.ca.certPem, cert: who.certPem, key: who.keyPem });
  const DN = '/DC=org/DC=example/CN=Alice Collide';

  before(async () => {
    t = await startTestPortal(fx);
    ({ portal, base } = t);
    const subject = (cn: string) => nameDer([rdn(OIDS.DC, TAG.IA5, 'org'), rdn(OIDS.DC, TAG.IA5, 'example'), rdn(OIDS.CN, TAG.UTF8, cn)]);
    first = await issueRawSubject(t.ca, subject('Alice Collide'));
    second = await issueRawSubject(t.ca, subject('Alice Collide\t'));
  });
  after(async () => {
    await t?.close();
  });

  it('the two subjects differ, their grid DNs do not', () => {
    expect(Buffer.from(first.cert.subjectName.toArrayBuffer())).not.to.deep.equal(Buffer.from(second.cert.subjectName.toArrayBuffer()));
    expect(gridDnForms(second.cert.subjectName.toArrayBuffer()).forms).to.deep.equal(gridDnForms(first.cert.subjectName.toArrayBuffer()).forms).and.deep.equal([DN]);
  });

  it('the first registers and is bound; the second is refused at login, so it never reaches the first account nor a binding', async () => {
    const a = as(first);
    expect((await a.get('/login/certificate')).location).to.equal('/register');
    const ok = await a.post('/register', { username: 'alicec', displayName: 'Alice Collide', email: 'alice@example.org', acceptPolicy: 'aup-2026' }, { csrfFrom: '/register', follow: true });
    expect(ok.status).to.equal(200);
    expect(decodeHtml(ok.body)).to.include(DN);

    const b = as(second);
    const login = await b.get('/login/certificate');
    expect(login.status).to.equal(403);
    expect(login.location).to.equal(undefined);
    expect(decodeHtml(login.body)).to.include("another certificate's subject could give the same DN").and.include('control characters');
    expect((await b.get('/account')).status).to.equal(401);
    // no registration either
    const reg = await b.post('/register', { username: 'mallet', displayName: 'M', email: 'm@example.org', acceptPolicy: 'aup-2026' }, { noCsrf: true });
    expect(reg.status).to.be.within(400, 499);
    expect(await portal.directory.directory.people.nameEverUsed('mallet')).to.equal(false);

    // the first account holds its own identity only, and still works
    const ids = await portal.directory.directory.identities.listForPerson('alicec');
    expect(ids.map((i) => i.certSubject)).to.deep.equal([DN]);
    expect((await a.get('/account')).status).to.equal(200);
  });
});
