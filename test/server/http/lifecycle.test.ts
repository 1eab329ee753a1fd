/**
 * Issue 10, identity lifecycle in the pages (portal over real TLS, real slapd): expiry warnings on
 * the account page, the expired-certificate refusal says what to do, a new unbound subject is
 * offered the way to bind it from an existing account, a renewal logs straight in.
 */
import { expect } from 'chai';
import { issue, type Issued, type NameSpec } from '../../support/pki.js';
import { startTestPortal, type TestPortal } from '../../support/test-portal.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { decodeHtml, PortalClient } from '../../support/portal-client.js';
import { expiryWarning } from '../../../server/services/lifecycle.js';

const DAY = 86_400_000;

describe('identity lifecycle pages (portal over real TLS, real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  const as = (who: Issued) => new PortalClient(t.base, { ca: t.ca.certPem, cert: who.certPem, key: who.keyPem });
  const subject: NameSpec = [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Erin Expiring'] }];

  before(async () => {
    t = await startTestPortal(fx);
  });
  after(async () => {
    await t?.close();
  });

  it('expiryWarning: 30/7/1 days ahead, then expired', () => {
    const now = new Date('2026-12-01T00:00:00Z');
    const at = (days: number) => new Date(now.getTime() + days * DAY + 3600_000);
    expect(expiryWarning(at(45), now)).to.equal(undefined);
    expect(expiryWarning(at(30), now)).to.include({ threshold: 30, days: 30 });
    expect(expiryWarning(at(8), now)).to.include({ threshold: 30 });
    expect(expiryWarning(at(7), now)).to.include({ threshold: 7 });
    expect(expiryWarning(at(1), now)).to.include({ threshold: 1 });
    expect(expiryWarning(at(0), now)!.text).to.match(/^expires today/);
    expect(expiryWarning(new Date(now.getTime() - 2 * DAY), now)).to.include({ threshold: 0, days: -2 });
  });

  it('a new subject goes to registration, which offers binding it from an existing account and how to present a second certificate', async () => {
    const stranger = await issue(t.ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Someone New'] }], 'user');
    const c = as(stranger);
    expect((await c.get('/login/certificate')).location).to.equal('/register');
    const page = decodeHtml((await c.get('/register')).body);
    expect(page, 'full name from the CN').to.include('value="Someone New"');
    expect(page).to.include('Already have an account?').and.include('bind this certificate from your existing account')
      .and.include('present it to the portal').and.include('Ask you every time');
  });

  it('the account page shows the latest expiry and warns ahead; a renewal with the same subject logs in and clears the warning', async () => {
    const soon = await issue(t.ca, subject, 'user', { notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 5 * DAY + 3600_000) });
    const c = as(soon);
    await c.get('/login/certificate');
    const reg = await c.post('/register', { username: 'erin', displayName: 'Erin Expiring', email: 'erin@example.org', acceptPolicy: 'aup-2026' }, { csrfFrom: '/register', follow: true });
    expect(reg.status).to.equal(200);
    const account = decodeHtml(reg.body);
    expect(account).to.include('Latest expiry').and.include('5 days left').and.match(/expires in 5 days \(\d{4}-\d\d-\d\d\): renew it/);
    expect(account).to.include('role="alert"');

    const renewed = await issue(t.ca, subject, 'user', { notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 400 * DAY) });
    const r = as(renewed);
    expect((await r.get('/login/certificate')).location, 'same subject: straight to the account').to.equal('/account');
    const after = decodeHtml((await r.get('/account')).body);
    expect(after).to.include(new Date(Date.now() + 400 * DAY).toISOString().slice(0, 10)).and.not.include('days left').and.not.include('role="alert"');
    const stored = await t.portal.directory.directory.identities.get({ type: 'x509', subject: '/DC=org/DC=example/CN=Erin Expiring' });
    expect(stored!.certNotAfter!.getTime()).to.be.greaterThan(Date.now() + 399 * DAY);
  });

  it('an expired certificate is refused with what to do', async () => {
    const expired = await issue(t.ca, subject, 'user', { notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - DAY) });
    const res = await as(expired).get('/login/certificate');
    expect(res.status).to.equal(403);
    const body = decodeHtml(res.body);
    expect(body).to.include('Your certificate has expired').and.include('expired on')
      .and.include('If the renewed certificate has the same subject, just log in with it').and.include('bind the new certificate from your account page');
  });
});

describe('registration: the full name is pre-filled from the certificate CN', () => {
  it('takes the last CN, decodes \\xNN bytes, and ignores other attributes', async () => {
    const { commonName } = await import('../../../server/http/routes/login.js');
    expect(commonName('/DC=org/DC=example/CN=Nina Newcomer')).to.equal('Nina Newcomer');
    expect(commonName('/C=DE/O=GermanGrid/OU=KIT/CN=J\\xC3\\xBCrgen M\\xC3\\xBCller')).to.equal('Jürgen Müller');
    expect(commonName('/DC=org/CN=Robot/CN=Service Name/emailAddress=x@y')).to.equal('Service Name');
    expect(commonName('/C=DE/O=No CN')).to.equal('');
  });
});
