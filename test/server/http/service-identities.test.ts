/** Issue 18 item 1: the admin page lists service identities apart from people; create and bind, CSRF-protected. Portal over real TLS, real slapd. */
import { expect } from 'chai';
import { startTestPortal, type TestPortal } from '../../support/test-portal.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { decodeHtml, PortalClient } from '../../support/portal-client.js';

describe('admin page: service identities (portal over real TLS, real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let admin: PortalClient;

  before(async () => {
    t = await startTestPortal(fx);
    admin = new PortalClient(t.base, { ca: t.ca.certPem, cert: t.people.pat.certPem, key: t.people.pat.keyPem });
    await admin.get('/login/certificate');
  });
  after(async () => {
    await t?.close();
  });

  it('creates a replication identity (member of every campaign), binds a robot certificate, and lists it apart from people', async () => {
    expect(decodeHtml((await admin.get('/admin')).body)).to.include('href="/admin/services"');
    const made = await admin.post('/admin/services', { username: 'rucio', role: 'replication', description: 'Rucio FTS', reason: 'replication to tier 1' }, { csrfFrom: '/admin/services' });
    expect(made.status).to.equal(302);
    const bound = await admin.post('/admin/services/rucio/identities', { type: 'x509', subject: '/DC=org/DC=example/CN=Robot: rucio', reason: 'robot certificate' }, { csrfFrom: '/admin/services' });
    expect(bound.status).to.equal(302);
    const oidc = await admin.post('/admin/services/rucio/identities', { type: 'oidc', issuer: 'https://iam.example.org/', subject: 'rucio-client', reason: 'OIDC client' }, { csrfFrom: '/admin/services' });
    expect(oidc.status).to.equal(302);
    const listed = decodeHtml((await admin.get('/admin/services')).body);
    expect(listed).to.include('rucio').and.include('replication').and.include('/DC=org/DC=example/CN=Robot: rucio (active)').and.include('rucio-client');
    expect(decodeHtml((await admin.get('/admin/users')).body)).to.not.include('/admin/users/rucio');
    const d = t.portal.directory.directory;
    for (const c of await d.campaigns.list()) expect(c.members, c.name).to.include('rucio');
  });

  it('shows a refusal on the page: a bad role, a person as target', async () => {
    const bad = await admin.post('/admin/services', { username: 'x1', role: 'superuser', description: 'X', reason: 'test it' }, { csrfFrom: '/admin/services' });
    expect(bad.status).to.equal(400);
    const person = await admin.post('/admin/services/pat/identities', { type: 'x509', subject: '/DC=org/DC=example/CN=Other', reason: 'test it' }, { csrfFrom: '/admin/services' });
    expect(person.status).to.equal(400);
    expect(decodeHtml(person.body)).to.include('not a service identity');
  });

  it('refuses a form without the CSRF token', async () => {
    const res = await admin.post('/admin/services', { username: 'webdl', role: 'public-reader', description: 'Website', reason: 'downloads' }, { noCsrf: true });
    expect(res.status).to.equal(403);
    expect(await t.portal.directory.directory.people.get('webdl')).to.equal(undefined);
  });
});
