/**
 * An expired form keeps what was typed (server/http/drafts.ts): a same-origin POST whose CSRF
 * token no longer matches changes nothing, goes back to its page and fills the fields in again,
 * once; through a new login too. A cross-site POST is refused as before and plants nothing.
 * Portal over real TLS, real slapd.
 */
import { expect } from 'chai';
import { startTestPortal, type TestPortal } from '../../support/test-portal.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { decodeHtml, PortalClient } from '../../support/portal-client.js';

describe('server/http/drafts: an expired form keeps its text (portal over real TLS, real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let nina: PortalClient;
  const justification = 'Spectra of the 2026-11 flares for my thesis chapter 3 <b>bold</b> & more';
  const sameSite = () => ({ origin: new URL(t.base).origin, referer: new URL('/campaigns/flare', t.base).href });

  before(async () => {
    t = await startTestPortal(fx);
    nina = new PortalClient(t.base, { ca: t.ca.certPem, cert: t.people.nina.certPem, key: t.people.nina.keyPem });
    await nina.get('/login/certificate');
  });
  after(async () => {
    await t?.close();
  });

  it('registration: a stale token goes back to /register with the fields filled in and nothing created', async () => {
    const r = await nina.post('/register', { _csrf: 'stale', username: 'nina', displayName: 'Nina Newcomer', email: 'nina@example.org', acceptPolicy: 'aup-2026' }, {
      headers: { origin: new URL(t.base).origin, referer: new URL('/register', t.base).href },
    });
    expect(r.status).to.equal(303);
    expect(r.location).to.equal('/register');
    expect(await t.portal.directory.directory.people.get('nina')).to.equal(undefined);
    const page = decodeHtml((await nina.get('/register')).body);
    expect(page).to.include('This form had expired').and.include('value="Nina Newcomer"').and.include('value="nina@example.org"');
    await nina.post('/register', { username: 'nina', displayName: 'Nina Newcomer', email: 'nina@example.org', acceptPolicy: 'aup-2026' }, { csrfFrom: '/register' });
    expect((await t.portal.directory.directory.people.get('nina'))?.username).to.equal('nina');
  });

  it('a join request: filled in again once, escaped, and no request was made', async () => {
    const r = await nina.post('/campaigns/flare/requests', { _csrf: 'stale', justification }, { headers: sameSite() });
    expect(r.status).to.equal(303);
    expect(r.location).to.equal('/campaigns/flare');
    expect(await t.portal.directory.directory.requests.byRequester('nina')).to.deep.equal([]);
    const raw = (await nina.get('/campaigns/flare')).body;
    expect(raw).to.include('&lt;b&gt;bold&lt;/b&gt; &amp; more</textarea>').and.not.include('<b>bold</b>');
    expect(decodeHtml(raw)).to.include('This form had expired');
    expect((await nina.get('/campaigns/flare')).body, 'shown once').to.not.include('thesis chapter 3');
  });

  it('a cross-site POST is refused (403) and leaves no draft', async () => {
    const r = await nina.post('/campaigns/flare/requests', { _csrf: 'stale', justification }, { headers: { origin: 'https://evil.example', referer: 'https://evil.example/x' } });
    expect(r.status).to.equal(403);
    const noOrigin = await nina.post('/campaigns/flare/requests', { _csrf: 'stale', justification }, { headers: {} });
    expect(noOrigin.status, 'no Origin and no Referer: not known to be ours').to.equal(403);
    expect((await nina.get('/campaigns/flare')).body).to.not.include('thesis chapter 3');
  });

  it('an ended session: the draft survives logging in again', async () => {
    nina.forgetCookies();
    const r = await nina.post('/campaigns/flare/requests', { _csrf: 'stale', justification }, { headers: sameSite() });
    expect(r.status).to.equal(303);
    await nina.get('/login/certificate');
    expect((await nina.get('/campaigns/flare')).body).to.include('thesis chapter 3');
    const sent = await nina.post('/campaigns/flare/requests', { justification }, { csrfFrom: '/campaigns/flare' });
    expect(sent.status).to.equal(302);
    expect((await t.portal.directory.directory.requests.byRequester('nina')).map((q) => q.campaign)).to.deep.equal(['flare']);
  });
});
