/**
 * Issue 10, notifications by e-mail, received by a REAL SMTP server on loopback (smtp-server):
 * verification link first (the only mail an unverified address gets), new join request -> PI,
 * decision with reason -> requester, certificate expiring -> owner; each plain text, saying why
 * it was sent and linking to the page. Portal over real TLS, real slapd.
 */
import { expect } from 'chai';
import { issue, type Issued } from '../../support/pki.js';
import { startTestPortal, type TestPortal } from '../../support/test-portal.js';
import { startTestSmtp, type TestSmtp, type ReceivedMail } from '../../support/smtp.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { decodeHtml, PortalClient } from '../../support/portal-client.js';
import { composeText } from '../../../core/mail/mailer.js';
import { flagUnseenIdentities, lastSeen } from '../../../server/services/unseen.js';

const DAY = 86_400_000;

describe('notifications by e-mail (real SMTP server on loopback, portal over real TLS, real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let smtp: TestSmtp;
  let olga: Issued;
  const as = (who: Issued) => new PortalClient(t.base, { ca: t.ca.certPem, cert: who.certPem, key: who.keyPem });
  const to = (address: string) => (m: ReceivedMail) => m.to.includes(address);
  const linkIn = (m: ReceivedMail) => new URL(/https:\/\/localhost:\d+\/\S+/.exec(m.text)![0]);

  async function confirm(c: PortalClient, mail: ReceivedMail): Promise<void> {
    const path = linkIn(mail).pathname;
    const page = await c.get(path);
    expect(page.status).to.equal(200);
    expect((await c.post(path, {}, { csrfFrom: path })).status).to.equal(302);
  }

  before(async () => {
    smtp = await startTestSmtp();
    t = await startTestPortal(fx, { portal: { mail: { smtpUrl: smtp.url, from: 'portal@campaign-guard.test', expiryCheckHours: 0 } } });
    olga = await issue(t.ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Olga Observer'] }], 'user',
      { notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 20 * DAY) });
    await t.portal.directory.directory.people.update('pat', { mail: 'pat@example.org' });
  });
  after(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('composes plain text with the link and why it was sent', () => {
    expect(composeText({ to: 'a@b', subject: 's', text: 'Hello', why: 'you asked', link: 'https://x/y' })).to.equal('Hello\n\nhttps://x/y\n\n-- \nYou received this mail because you asked.\n');
  });

  it('registration mails a verification link; the page confirms with a CSRF-protected form; resend works for the PI', async () => {
    const c = as(olga);
    await c.get('/login/certificate');
    const reg = await c.post('/register', { username: 'olga', displayName: 'Olga Observer', email: 'olga@example.org', acceptPolicy: 'aup-2026' }, { csrfFrom: '/register', follow: true });
    expect(decodeHtml(reg.body)).to.include('We sent a link to olga@example.org').and.include('not confirmed');
    const mail = await smtp.waitFor(to('olga@example.org'));
    expect(mail.from).to.equal('portal@campaign-guard.test');
    expect(mail.subject).to.equal('Confirm your e-mail address for campaign-guard');
    expect(mail.text).to.include('storage account olga').and.include('You received this mail because this address was given for the account olga');
    expect(linkIn(mail).pathname).to.match(/^\/verify-email\/[A-Za-z0-9_-]{43}$/);
    // The link alone (GET, as a mail scanner would fetch it) verifies nothing.
    await c.get(linkIn(mail).pathname);
    expect(t.portal.notifier.isVerified({ username: 'olga', mail: 'olga@example.org' })).to.equal(false);
    expect((await c.post(linkIn(mail).pathname, {}, { noCsrf: true })).status, 'CSRF').to.equal(403);

    // The PI confirms hers from the account page.
    const p = as(t.people.pat);
    await p.get('/login/certificate');
    expect((await p.post('/account/email/verify', {})).status).to.equal(302);
    const patMail = await smtp.waitFor(to('pat@example.org'));
    await confirm(p, patMail);
    expect(decodeHtml((await p.get('/account')).body)).to.include('confirmed').and.not.include('not confirmed');
    expect(t.portal.audit.query({ action: 'account.update' }).some((e) => e.target === 'pat' && (e.details as { mailVerified?: string })?.mailVerified === 'pat@example.org')).to.equal(true);
  });

  it('new join request -> PI; a denial with its reason is not mailed to an unverified requester, then is once she confirmed', async () => {
    const c = as(olga);
    await c.get('/login/certificate');
    await c.post('/campaigns/flare/requests', { justification: 'I calibrate the flare spectrograph.' }, { csrfFrom: '/campaigns/flare' });
    const toPi = await smtp.waitFor((m) => m.to.includes('pat@example.org') && /asks to join/.test(m.subject));
    expect(toPi.subject).to.equal('Campaign flare: olga asks to join');
    expect(toPi.text).to.include('  I calibrate the flare spectrograph.').and.include('You received this mail because you are the principal investigator of campaign flare')
      .and.include(`${t.base}/campaigns/flare`);

    const p = as(t.people.pat);
    await p.get('/login/certificate');
    const first = (await t.portal.directory.directory.requests.byRequester('olga', 'pending'))[0]!;
    const before = smtp.received.length;
    expect((await p.post(`/requests/${first.id}/deny`, { reason: 'Please ask again with your observing proposal number.' }, { csrfFrom: '/campaigns/flare' })).status).to.equal(302);
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.received.slice(before).filter(to('olga@example.org')), 'unverified: no mail').to.have.length(0);

    await confirm(c, (await smtp.waitFor(to('olga@example.org'))));
    await c.post('/campaigns/flare/requests', { justification: 'Proposal 2026A-17: flare spectrograph.' }, { csrfFrom: '/campaigns/flare' });
    const second = (await t.portal.directory.directory.requests.byRequester('olga', 'pending'))[0]!;
    await p.post(`/requests/${second.id}/deny`, { reason: 'The campaign is full this season.' }, { csrfFrom: '/campaigns/flare' });
    const decision = await smtp.waitFor((m) => m.to.includes('olga@example.org') && /was denied/.test(m.subject));
    expect(decision.subject).to.equal('Your request to join flare was denied');
    expect(decision.text).to.include('denied by pat').and.include('  The campaign is full this season.')
      .and.include('You received this mail because you asked to join campaign flare').and.include(`${t.base}/account`);
  });

  it('certificate expiring -> owner, once per threshold', async () => {
    const n = smtp.received.length;
    expect(await t.portal.notifier.certificateExpiryNotices()).to.include('/DC=org/DC=example/CN=Olga Observer');
    const mail = await smtp.waitFor((m) => m.to.includes('olga@example.org') && /certificate/.test(m.subject));
    expect(mail.subject).to.match(/^Your certificate expires in (19|20) days$/);
    expect(mail.text).to.include('/DC=org/DC=example/CN=Olga Observer').and.include('renew it with your certificate authority')
      .and.include('You received this mail because the certificate is bound to your storage account olga').and.include(`${t.base}/account`);
    expect(await t.portal.notifier.certificateExpiryNotices(), 'already told at this threshold').to.deep.equal([]);
    // A week later the 7-day threshold tells her again.
    expect(await t.portal.notifier.certificateExpiryNotices(new Date(Date.now() + 14 * DAY))).to.deep.equal(['/DC=org/DC=example/CN=Olga Observer']);
    expect(smtp.received.slice(n).filter((m) => /certificate/.test(m.subject))).to.have.length(2);
  });

  it('optional policy: identities not seen for N months are flagged to the owner and the admins, once; nothing is removed', async () => {
    const ctx = { directory: t.portal.directory.directory, audit: { append: () => undefined } };
    expect(lastSeen([{ action: 'account.login', target: 'x', at: '2026-01-01T00:00:00Z' }, { action: 'identity.bind', target: 'x', at: '2026-03-01T00:00:00Z' }, { action: 'membership.request', target: 'x', at: '2026-09-01T00:00:00Z' }]).get('x')!.toISOString())
      .to.equal('2026-03-01T00:00:00.000Z');
    expect(await flagUnseenIdentities(ctx, t.portal.notifier, t.portal.audit.all(), 0, new Date(Date.now() + 400 * DAY)), 'off by default').to.deep.equal([]);
    expect(await flagUnseenIdentities(ctx, t.portal.notifier, t.portal.audit.all(), 6), 'all seen recently').to.deep.equal([]);
    const later = new Date(Date.now() + 200 * DAY);
    const flagged = await flagUnseenIdentities(ctx, t.portal.notifier, t.portal.audit.all(), 6, later);
    expect(flagged).to.include('certificate subject /DC=org/DC=example/CN=Olga Observer');
    const toOwner = await smtp.waitFor((m) => m.to.includes('olga@example.org') && /^Not used for 6 months/.test(m.subject));
    expect(toOwner.text).to.include('has not been used to log in to the portal since').and.include('It still maps to your storage account')
      .and.include('You received this mail because the identity is bound to your storage account olga');
    const toAdmin = await smtp.waitFor((m) => m.to.includes('pat@example.org') && /not used for 6 months$/.test(m.subject));
    expect(toAdmin.text).to.include('olga: certificate subject /DC=org/DC=example/CN=Olga Observer').and.include('Nothing was removed');
    expect(await flagUnseenIdentities(ctx, t.portal.notifier, t.portal.audit.all(), 6, later), 'once').to.deep.equal([]);
    expect(await t.portal.directory.directory.identities.listForPerson('olga')).to.have.length(1);
  });
});
