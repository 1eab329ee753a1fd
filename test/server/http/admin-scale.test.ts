/**
 * Issue 10 (item 6, in part): users paginated with counts, a page per user with identities,
 * campaigns, requests and audit history (including the identities the user owns), admin role
 * grant/revoke audited. Portal over real TLS, real slapd.
 */
import { expect } from 'chai';
import { startTestPortal, type TestPortal } from '../../support/test-portal.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { decodeHtml, PortalClient } from '../../support/portal-client.js';

describe('admin at scale: users pages (portal over real TLS, real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let admin: PortalClient;

  before(async () => {
    t = await startTestPortal(fx);
    const d = t.portal.directory.directory;
    for (let i = 0; i < 60; i++) await d.people.create({ username: `u${String(i).padStart(2, '0')}`, displayName: `User ${i}` });
    for (let i = 0; i < 55; i++) await d.campaigns.create({ name: `c${String(i).padStart(2, '0')}`, pi: 'pat' });
    admin = new PortalClient(t.base, { ca: t.ca.certPem, cert: t.people.pat.certPem, key: t.people.pat.keyPem });
    await admin.get('/login/certificate');
    const nina = new PortalClient(t.base, { ca: t.ca.certPem, cert: t.people.nina.certPem, key: t.people.nina.keyPem });
    await nina.get('/login/certificate');
    await nina.post('/register', { username: 'nina', displayName: 'Nina Newcomer', email: 'nina@example.org', acceptPolicy: 'aup-2026' }, { csrfFrom: '/register' });
    await nina.post('/campaigns/flare/requests', { justification: 'Flare spectra, please.' }, { csrfFrom: '/campaigns/flare' });
  });
  after(async () => {
    await t?.close();
  });

  it('lists 50 a page with "showing a–b of n", next and previous; search narrows the count', async () => {
    const first = decodeHtml((await admin.get('/admin/users')).body);
    expect(first).to.include('showing 1–50 of 62').and.include('href="/admin/users?page=2"').and.not.include('previous page');
    const second = decodeHtml((await admin.get('/admin/users?page=2')).body);
    expect(second).to.include('showing 51–62 of 62').and.include('previous page').and.not.include('next page');
    expect(decodeHtml((await admin.get('/admin/users?q=u0')).body)).to.include('showing 1–10 of 10');
  });

  it('campaigns too: 50 a page with counts, search', async () => {
    expect(decodeHtml((await admin.get('/admin/campaigns')).body)).to.include('showing 1–50 of 56').and.include('href="/admin/campaigns?page=2"');
    expect(decodeHtml((await admin.get('/admin/campaigns?page=2')).body)).to.include('showing 51–56 of 56').and.include('flare');
    expect(decodeHtml((await admin.get('/admin/campaigns?q=c1')).body)).to.include('showing 1–10 of 10');
  });

  it('a page per user: identities, campaigns, requests, audit history of the account and its identities; admin role granted and revoked, audited', async () => {
    const page = decodeHtml((await admin.get('/admin/users/nina')).body);
    expect(page).to.include('certificate subject /DC=org/DC=example/CN=Nina Newcomer').and.include('flare');
    expect(page).to.include('identity.bind').and.include('account.create').and.include('membership.request').and.include('policy.accept');
    expect((await admin.post('/admin/users/nina/role', { grant: 'yes' }, { csrfFrom: '/admin/users/nina' })).location).to.equal('/admin/users/nina');
    expect((await t.portal.directory.directory.people.require('nina')).roles).to.include('admin');
    expect(decodeHtml((await admin.get('/admin/users/nina')).body)).to.include('Revoke the admin role of nina').and.include('role.change');
    await admin.post('/admin/users/nina/role', { grant: 'no' }, { csrfFrom: '/admin/users/nina' });
    expect((await t.portal.directory.directory.people.require('nina')).roles).to.not.include('admin');
    expect(t.portal.audit.query({ action: 'role.change' }).filter((e) => e.target === 'nina').map((e) => (e.details as { granted: boolean }).granted)).to.deep.equal([false, true]);
    expect((await admin.get('/admin/users/nobody')).status).to.equal(404);
    const nina = new PortalClient(t.base, { ca: t.ca.certPem, cert: t.people.nina.certPem, key: t.people.nina.keyPem });
    await nina.get('/login/certificate');
    expect((await nina.get('/admin/users/pat')).status, 'admins only').to.equal(403);
  });

  it('the audit page filters by action family and by days (UTC, both included); a bad date is refused', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const family = decodeHtml((await admin.get('/admin/audit?action=membership.')).body);
    expect(family).to.include('membership.request').and.not.include('<code>account.login</code>');
    expect(family).to.include('<option value="membership.">').and.include('<option value="embargo.extension-request">');
    expect(decodeHtml((await admin.get(`/admin/audit?action=membership.&from=${today}&to=${today}`)).body)).to.include('membership.request');
    expect(decodeHtml((await admin.get('/admin/audit?from=2001-01-01&to=2001-01-31')).body)).to.include('No audit record matches.');
    expect((await admin.get('/admin/audit?from=yesterday')).status).to.equal(400);
    expect((await admin.get('/admin/audit?to=2025-02-30')).status, 'no such day').to.equal(400);
  });
});
