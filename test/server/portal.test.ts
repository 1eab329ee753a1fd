import { expect } from 'chai';
import * as client from 'openid-client';
import type { RunningPortal } from '../../server/portal.js';
import { issueProxy, type Issued } from '../support/pki.js';
import { startTestPortal, type TestPortal } from '../support/test-portal.js';
import { OpenIdConnectLogin } from '../../server/auth/oidc.js';
import { useManagedSlapd } from '../support/slapd.js';
import { followLogin, TEST_CLIENT, type TestOp } from '../support/openid-provider.js';
import { decodeHtml, PortalClient } from '../support/portal-client.js';

describe('portal over real TLS (real slapd, real OpenID Provider)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let portal: RunningPortal;
  let op: TestOp;
  let ca: Issued, nina: Issued, pat: Issued, mallory: Issued;
  let base: string;
  const as = (who?: Issued, chain: Issued[] = []) => new PortalClient(base, { ca: ca.certPem, ...(who ? { cert: [who, ...chain].map((c) => c.certPem.trim() + '\n').join(''), key: who.keyPem } : {}) });

  before(async () => {
    t = await startTestPortal(fx);
    ({ portal, op, base, ca } = t);
    ({ nina, pat, mallory } = t.people);
  });
  after(async () => {
    await t?.close();
  });

  it('a new certificate goes to registration; the form creates the account and binds the certificate', async () => {
    const c = as(nina);
    const login = await c.get('/login/certificate');
    expect(login.status).to.equal(302);
    expect(login.location).to.equal('/register');
    const form = await c.get('/register');
    expect(decodeHtml(form.body)).to.include('/DC=org/DC=example/CN=Nina Newcomer');
    const bad = await c.post('/register', { username: '*)(uid=*', displayName: 'Nina', email: 'nina@example.org', acceptPolicy: 'aup-2026' }, { csrfFrom: '/register' });
    expect(bad.status).to.equal(400);
    expect(bad.body).to.include('username: lower-case letters');
    // The problem beside its field, tied to it for screen readers; what was typed is kept.
    const badPage = decodeHtml(bad.body);
    expect(badPage).to.match(/<input name="username"[^>]*value="\*\)\(uid=\*"[^>]*aria-invalid="true" aria-describedby="error-username">/);
    expect(badPage).to.match(/<p class="field-error" id="error-username">username: lower-case letters/);
    expect(badPage).to.include('value="nina@example.org"').and.not.include('id="error-email"');
    const ok = await c.post('/register', { username: 'nina', displayName: '*)(cn=*))(|(cn=* Nina', email: 'nina@example.org', acceptPolicy: 'aup-2026' }, { csrfFrom: '/register', follow: true });
    expect(ok.status).to.equal(200);
    expect(decodeHtml(ok.body)).to.include('Welcome, nina').and.include('/DC=org/DC=example/CN=Nina Newcomer');
    const person = await portal.directory.directory.people.require('nina');
    expect(person.displayName).to.equal('*)(cn=*))(|(cn=* Nina');
  });

  it('answers /health (liveness) and /ready (directory reachable, audit trail whole)', async () => {
    const health = await as().get('/health');
    expect([health.status, JSON.parse(health.body)]).to.deep.equal([200, { status: 'ok' }]);
    const ready = await as().get('/ready');
    expect(ready.status).to.equal(200);
    expect(JSON.parse(ready.body)).to.deep.equal({ status: 'ready', ldap: 'ok', audit: 'intact' });
  });

  it('refuses every form post without a valid CSRF token', async () => {
    const c = as(nina);
    await c.get('/login/certificate');
    for (const path of ['/campaigns/flare/requests', '/logout', '/account/certificates']) {
      expect((await c.post(path, { justification: 'x'.repeat(20) }, { noCsrf: true })).status, path).to.equal(403);
      expect((await c.post(path, { justification: 'x'.repeat(20), _csrf: 'forged' })).status, path).to.equal(403);
    }
  });

  it('request to join, PI approval; members only for members, PI and admins', async () => {
    const n = as(nina);
    await n.get('/login/certificate');
    const before = await n.get('/campaigns/flare');
    expect(before.body).to.include('Request to join').and.not.include('<h2>Members</h2>');
    expect((await n.post('/campaigns/flare/requests', { justification: 'I reduce the flare spectra.' }, { csrfFrom: '/campaigns/flare' })).status).to.equal(302);
    const p = as(pat);
    await p.get('/login/certificate');
    const page = await p.get('/campaigns/flare');
    const id = /action="\/requests\/([0-9a-f-]+)\/approve"/.exec(page.body)?.[1];
    expect(id, 'the PI sees the pending request').to.be.a('string');
    // Nina cannot approve her own request.
    expect((await n.post(`/requests/${id}/approve`, {}, { csrfFrom: '/campaigns/flare' })).status).to.equal(403);
    expect((await p.post(`/requests/${id}/approve`, {}, { csrfFrom: '/campaigns/flare' })).status).to.equal(302);
    expect((await portal.directory.directory.campaigns.require('flare')).members.sort()).to.deep.equal(['nina', 'pat']);
    expect((await n.get('/campaigns/flare')).body).to.include('<h2>Members</h2>');
    expect(portal.audit.query({ action: 'membership.approve' })).to.have.length(1);
  });

  it("never shows or changes another user's identities; admin pages are for admins", async () => {
    const patKey = (await portal.directory.directory.identities.listForPerson('pat'))[0]!.key;
    const n = as(nina);
    await n.get('/login/certificate');
    expect((await n.get('/account')).body).to.not.include('Pat PI');
    expect((await n.post(`/account/identities/${patKey}/remove`, {})).status).to.equal(403);
    expect(await portal.directory.directory.identities.listForPerson('pat')).to.have.length(1);
    expect((await n.get('/admin/users')).status).to.equal(403);
    expect((await n.get('/admin/audit')).status).to.equal(403);
    const p = as(pat);
    await p.get('/login/certificate');
    const audit = await p.get('/admin/audit');
    expect(audit.status).to.equal(200);
    expect(audit.body).to.include('intact over');
  });

  it('refuses revoked certificates and anonymous visitors with clear pages; accepts a proxy for the end-entity', async () => {
    const m = await as(mallory).get('/login/certificate');
    expect(m.status).to.equal(403);
    expect(m.body).to.include('has been revoked by its CA');
    const none = await as().get('/login/certificate');
    expect(none.status).to.equal(403);
    expect(none.body).to.include('did not present a client certificate');
    expect((await as().get('/account')).status).to.equal(401);
    const proxy = await issueProxy(nina);
    const viaProxy = as(proxy, [nina]);
    const r = await viaProxy.get('/login/certificate');
    expect(r.location).to.equal('/account');
  });

  it('binds an OpenID Connect identity while logged in; another account cannot bind it', async () => {
    const n = as(nina);
    await n.get('/login/certificate');
    op.nextLogin = 'nina-iam';
    const start = await n.get('/login/oidc/test?bind=1');
    const callback = await followLogin(start.location!, `${base}/login/oidc/test/callback`);
    const done = await n.get(callback.pathname + callback.search);
    expect(done.location).to.equal('/account');
    const account = await n.get('/account');
    expect(account.body).to.include('nina-iam');
    const ids = await portal.directory.directory.identities.listForPerson('nina');
    expect(ids.map((i) => i.type).sort()).to.deep.equal(['oidc', 'x509']);
    // someone else's attempt to bind the same OIDC identity is refused clearly
    const p = as(pat);
    await p.get('/login/certificate');
    const again = await p.get('/login/oidc/test?bind=1');
    const cb2 = await followLogin(again.location!, `${base}/login/oidc/test/callback`);
    const refused = await p.get(cb2.pathname + cb2.search);
    expect(refused.status).to.equal(409);
    expect(refused.body).to.include('already bound to another account');
  });

  /** nina's access token (she is bound to the OP's nina-iam) with these scopes. */
  const ninaToken = async (scopes: string) => {
    const oidc = new OpenIdConnectLogin([{ id: 'test', name: 'Test', issuer: op.issuer, clientId: TEST_CLIENT.id, clientSecret: TEST_CLIENT.secret, scopes }]);
    op.nextLogin = 'nina-iam';
    const { url, pending } = await oidc.start('test', `${base}/login/oidc/test/callback`);
    const cb = await followLogin(url, `${base}/login/oidc/test/callback`);
    return (await client.authorizationCodeGrant(await oidc.configuration('test'), cb, { pkceCodeVerifier: pending.codeVerifier!, expectedState: pending.state!, expectedNonce: pending.nonce! })).access_token;
  };

  it('JSON API with bearer tokens: same rules, no cookies', async () => {
    const api = as();
    const auth = { authorization: `Bearer ${await ninaToken('openid campaign-guard')}` };
    const me = await api.get('/api/me', { headers: auth });
    expect(me.status).to.equal(200);
    expect(JSON.parse(me.body)).to.include({ username: 'nina' });
    const campaigns = JSON.parse((await api.get('/api/campaigns', { headers: auth })).body) as { name: string; members?: string[] }[];
    expect(campaigns.find((c) => c.name === 'flare')!.members).to.include('nina');
    expect((await api.get('/api/admin/users', { headers: auth })).status).to.equal(403);
    expect((await api.get('/api/me')).status).to.equal(401);
    expect((await api.get('/api/me', { headers: { authorization: 'Bearer not.a.jwt' } })).status).to.equal(403);
  });

  it('JSON API: the PI approves with a membership end, adds a member with one, changes and clears it; a past date is refused', async () => {
    const api = as();
    const auth = { authorization: `Bearer ${await ninaToken('openid campaign-guard')}` };
    const d = portal.directory.directory;
    await d.campaigns.create({ name: 'api-tide', pi: 'nina' });
    await d.people.create({ username: 'omar' });
    await d.people.create({ username: 'oona' });
    const request = await d.requests.create({ campaign: 'api-tide', requester: 'omar', justification: 'tidal data please' });
    const past = await api.json('POST', `/api/requests/${request.id}/decision`, { decision: 'approved', until: '2020-01-01' }, auth);
    expect(past.status).to.equal(400);
    expect(JSON.parse(past.body).error).to.include('the membership end must be in the future');
    expect((await d.requests.get(request.id))?.state, 'a refused call decides nothing').to.equal('pending');
    const ok = await api.json('POST', `/api/requests/${request.id}/decision`, { decision: 'approved', until: '2031-03-31' }, auth);
    expect(ok.status, ok.body).to.equal(200);
    expect((await d.campaigns.require('api-tide')).memberUntil.omar?.toISOString()).to.equal('2031-03-31T23:59:59.000Z');
    expect((await api.json('POST', '/api/campaigns/api-tide/members', { username: 'oona', until: '2032-01-01' }, auth)).status).to.equal(204);
    expect((await d.campaigns.require('api-tide')).memberUntil.oona?.toISOString()).to.equal('2032-01-01T23:59:59.000Z');
    expect((await api.json('PUT', '/api/campaigns/api-tide/members/oona/until', { until: '2033-06-30' }, auth)).status).to.equal(204);
    expect((await d.campaigns.require('api-tide')).memberUntil.oona?.toISOString()).to.equal('2033-06-30T23:59:59.000Z');
    expect((await api.json('PUT', '/api/campaigns/api-tide/members/oona/until', {}, auth)).status, 'until must be given').to.equal(400);
    expect((await api.json('PUT', '/api/campaigns/api-tide/members/oona/until', { until: null }, auth)).status).to.equal(204);
    expect((await d.campaigns.require('api-tide')).memberUntil.oona).to.equal(undefined);
    expect((await api.json('PUT', '/api/campaigns/flare/members/nina/until', { until: '2033-01-01' }, auth)).status, 'not the PI of flare').to.equal(403);
  });

  it('API tokens need the API scope; admin operations need the admin scope as well as the admin role', async () => {
    const api = as();
    const loginOnly = await api.get('/api/me', { headers: { authorization: `Bearer ${await ninaToken('openid')}` } });
    expect(loginOnly.status).to.equal(403);
    expect(loginOnly.body).to.include('lacks the scope campaign-guard');
    await portal.directory.directory.people.addRole('nina', 'admin');
    try {
      const plain = await api.get('/api/admin/users', { headers: { authorization: `Bearer ${await ninaToken('openid campaign-guard')}` } });
      expect(plain.status, 'admin role without the admin scope').to.equal(403);
      expect(plain.body).to.include('need the scope campaign-guard:admin');
      const adminAuth = { authorization: `Bearer ${await ninaToken('openid campaign-guard campaign-guard:admin')}` };
      const admin = await api.get('/api/admin/users', { headers: adminAuth });
      expect(admin.status).to.equal(200);
      // The API asks the pages' second question as a refusal: opening data earlier, or closing released
      // data, needs "confirm": true; closing a campaign and suspending a user need a reason.
      const d = portal.directory.directory;
      await d.campaigns.create({ name: 'api-early', pi: 'pat', embargoEnd: new Date('2031-01-01T23:59:59Z') });
      const early = await api.json('PUT', '/api/admin/campaigns/api-early/embargo', { embargoEnd: '2027-01-01', reason: 'early release' }, adminAuth);
      expect(early.status).to.equal(409);
      expect(JSON.parse(early.body)).to.deep.include({ code: 'ERR_CONFLICT' });
      expect(JSON.parse(early.body).error).to.include('this opens api-early on 2027-01-01').and.include('"confirm": true');
      expect((await d.campaigns.require('api-early')).embargoEnd?.toISOString()).to.equal('2031-01-01T23:59:59.000Z');
      const confirmed = await api.json('PUT', '/api/admin/campaigns/api-early/embargo', { embargoEnd: '2027-01-01', reason: 'early release', confirm: true }, adminAuth);
      expect(confirmed.status).to.equal(200);
      expect((await d.campaigns.require('api-early')).embargoEnd?.toISOString()).to.equal('2027-01-01T23:59:59.000Z');
      await d.campaigns.create({ name: 'api-public', pi: 'pat', embargoEnd: new Date('2024-01-01T23:59:59Z') });
      const again = await api.json('PUT', '/api/admin/campaigns/api-public/embargo', { embargoEnd: '2031-01-01', reason: 'wrong release' }, adminAuth);
      expect(again.status).to.equal(409);
      expect(JSON.parse(again.body).error).to.include('public since 2024-01-01').and.include('cannot be recalled');
      expect((await api.json('POST', '/api/admin/campaigns/api-public/close', {}, adminAuth)).status, 'no reason').to.equal(400);
      expect((await api.json('POST', '/api/admin/campaigns/api-public/close', { reason: 'season over' }, adminAuth)).status).to.equal(204);
      expect((await api.json('PUT', '/api/admin/users/pat/status', { status: 'suspended' }, adminAuth)).status, 'no reason').to.equal(400);
      expect((await d.people.require('pat')).status).to.equal('active');
    } finally {
      await portal.directory.directory.people.removeRole('nina', 'admin');
    }
    const scopedNoRole = await api.get('/api/admin/users', { headers: { authorization: `Bearer ${await ninaToken('openid campaign-guard campaign-guard:admin')}` } });
    expect(scopedNoRole.status, 'admin scope without the admin role').to.equal(403);
  });

  it('admins create campaigns, change embargoes with a reason, suspend users; everything lands in the exported audit trail', async () => {
    const p = as(pat);
    await p.get('/login/certificate');
    const bad = await p.post('/admin/campaigns', { name: 'Bad Name', pi: 'pat', embargoEnd: '' }, { csrfFrom: '/admin/campaigns' });
    expect(bad.status).to.equal(400);
    expect(bad.body).to.include('campaign name: lower-case letters');
    expect((await p.post('/admin/campaigns', { name: 'corona', description: 'Corona loops', pi: 'pat', embargoEnd: '2031-03-31' }, { csrfFrom: '/admin/campaigns' })).status).to.equal(302);
    const corona = await portal.directory.directory.campaigns.require('corona');
    expect(corona.embargoEnd!.toISOString()).to.equal('2031-03-31T23:59:59.000Z');
    expect((await p.post('/campaigns/corona/embargo', { embargoEnd: '2032-01-31', reason: '' }, { csrfFrom: '/campaigns/corona' })).status).to.equal(400);
    expect((await p.post('/campaigns/corona/embargo', { embargoEnd: '2032-01-31', reason: 'instrument recalibration' }, { csrfFrom: '/campaigns/corona' })).status).to.equal(302);
    expect((await p.post('/admin/users/nina/suspend', {}, { csrfFrom: '/admin/users' })).status, 'a reason is required').to.equal(400);
    expect((await p.post('/admin/users/nina/suspend', { reason: 'compromised key reported' }, { csrfFrom: '/admin/users' })).status).to.equal(302);
    const n = as(nina);
    const refused = await n.get('/login/certificate');
    expect(refused.status).to.equal(403);
    expect(refused.body).to.include('suspended');
    await p.post('/admin/users/nina/reactivate', { reason: 'new key issued' }, { csrfFrom: '/admin/users' });
    expect((await as(nina).get('/login/certificate')).location).to.equal('/account');
    const exported = await p.get('/admin/audit/export?format=json');
    const records = JSON.parse(exported.body) as { action: string; target: string; details?: Record<string, unknown> }[];
    const actions = records.map((r) => r.action);
    expect(actions).to.include.members(['account.create', 'identity.bind', 'membership.request', 'membership.approve', 'campaign.create', 'embargo.change', 'account.suspend', 'account.reactivate']);
    expect(records.find((r) => r.action === 'embargo.change' && r.target === 'corona')!.details).to.deep.include({ reason: 'instrument recalibration' });
    expect(portal.audit.verify()).to.deep.include({ ok: true });
  });

  it('staff of the home institute get their account at first login through its issuer, without the form, once they accepted the policy they were shown', async () => {
    const c = as();
    op.nextLogin = 'sam-staff';
    const start = await c.get('/login/oidc/test');
    const cb = await followLogin(start.location!, `${base}/login/oidc/test/callback`);
    const done = await c.get(cb.pathname + cb.search);
    expect(done.location, 'the policy first').to.equal('/policy');
    const policy = await c.get('/policy');
    expect(policy.body).to.include('Accept and create my account').and.include('version aup-2026');
    expect(await portal.directory.directory.people.get('sam'), 'no account before acceptance').to.equal(undefined);
    expect((await c.post('/register/staff', {}, { csrfFrom: '/policy' })).status, 'not accepted: refused').to.equal(400);
    const created = await c.post('/register/staff', { acceptPolicy: 'aup-2026' }, { csrfFrom: '/policy' });
    expect(created.location).to.equal('/account');
    const page = await c.get('/account');
    expect(page.body).to.include('Your staff account sam is ready');
    const sam = await portal.directory.directory.people.require('sam');
    expect(sam).to.deep.include({ displayName: 'Sam Staff', mail: 'sam@home.example' });
    expect(sam.policyAgreements).to.have.length(1);
    expect(sam.policyAgreements[0]).to.match(/^aup-2026 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // someone from the same issuer who is not on the staff list goes through registration
    op.accounts.set('olga-guest', { sub: 'olga-guest', preferred_username: 'olga' });
    const other = as();
    op.nextLogin = 'olga-guest';
    const s2 = await other.get('/login/oidc/test');
    const cb2 = await followLogin(s2.location!, `${base}/login/oidc/test/callback`);
    expect((await other.get(cb2.pathname + cb2.search)).location).to.equal('/register');
    expect(await portal.directory.directory.people.get('olga')).to.equal(undefined);
    expect((await other.get('/register')).body, 'prefilled from the provider').to.include('value="olga"');
  });
});

