/**
 * Issue 10, embargo extension requests (the ALMA model): the PI, without the admin role, asks for
 * a later end with a reason; the old date holds in LDAP while pending; an admin approves (the
 * date changes, audited as embargo.change) or denies with a reason. Portal over real TLS, real slapd.
 */
import { expect } from 'chai';
import { issue, type Issued } from '../../support/pki.js';
import { startTestPortal, type TestPortal } from '../../support/test-portal.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { decodeHtml, PortalClient } from '../../support/portal-client.js';

describe('embargo extension requests (portal over real TLS, real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let pia: Issued;
  const as = (who: Issued) => new PortalClient(t.base, { ca: t.ca.certPem, cert: who.certPem, key: who.keyPem });
  const end = async () => (await t.portal.directory.directory.campaigns.require('corona')).embargoEnd?.toISOString();
  const actions = () => t.portal.audit.query({}).filter((e) => e.target === 'corona').map((e) => e.action);

  before(async () => {
    t = await startTestPortal(fx);
    pia = await issue(t.ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Pia Investigator'] }], 'user');
    const d = t.portal.directory.directory;
    await d.people.create({ username: 'pia', displayName: 'Pia', policyAgreements: ['aup-2026'] });
    await d.identities.bind('pia', { type: 'x509', subject: '/DC=org/DC=example/CN=Pia Investigator' });
    await d.campaigns.create({ name: 'corona', pi: 'pia', embargoEnd: new Date('2027-01-01T23:59:59Z') });
  });
  after(async () => {
    await t?.close();
  });

  it('the PI asks; the old date holds while pending; checks on date, reason, who and one at a time', async () => {
    const p = as(pia);
    await p.get('/login/certificate');
    const page = decodeHtml((await p.get('/campaigns/corona')).body);
    expect(page).to.include('Ask for a longer embargo');
    expect((await p.post('/campaigns/corona/embargo-extension', { newEnd: '2026-06-01', reason: 'Shorter is not an extension.' }, { csrfFrom: '/campaigns/corona' })).status).to.equal(400);
    expect((await p.post('/campaigns/corona/embargo-extension', { newEnd: '2028-06-30', reason: 'short' }, { csrfFrom: '/campaigns/corona' })).status).to.equal(400);
    const n = as(t.people.pat); // pat: admin, but not corona's PI: admins change the date directly, they do not ask
    await n.get('/login/certificate');
    expect((await n.post('/campaigns/corona/embargo-extension', { newEnd: '2028-06-30', reason: 'Not my campaign at all.' }, { csrfFrom: '/campaigns/corona' })).status).to.equal(403);
    const asked = await p.post('/campaigns/corona/embargo-extension', { newEnd: '2028-06-30', reason: 'The instrument paper is delayed by a year.' }, { csrfFrom: '/campaigns/corona' });
    expect(asked.location).to.equal('/campaigns/corona');
    expect(decodeHtml((await p.get('/campaigns/corona')).body)).to.include('waiting for an administrator; the current date holds').and.not.include('Ask for a longer embargo');
    expect((await p.post('/campaigns/corona/embargo-extension', { newEnd: '2029-01-01', reason: 'And another one while pending.' }, { csrfFrom: '/campaigns/corona' })).status).to.be.oneOf([403, 409]);
    expect(await end(), 'the old date holds').to.equal('2027-01-01T23:59:59.000Z');
    expect(actions()).to.include('embargo.extension-request');
  });

  it('an admin sees it, cannot deny without a reason, approves: the date changes in LDAP, audited', async () => {
    const a = as(t.people.pat);
    await a.get('/login/certificate');
    const list = decodeHtml((await a.get('/admin/requests')).body);
    expect(list).to.include('The instrument paper is delayed by a year.').and.include('2028-06-30');
    const id = /action="\/admin\/embargo-extensions\/([0-9a-f-]+)\/approve"/.exec(list)![1]!;
    const p = as(pia);
    await p.get('/login/certificate');
    expect((await p.post(`/admin/embargo-extensions/${id}/approve`, {}, { csrfFrom: '/account' })).status, 'not the PI').to.equal(403);
    expect((await a.post(`/admin/embargo-extensions/${id}/deny`, {}, { csrfFrom: '/admin/requests' })).status, 'a reason').to.equal(400);
    expect((await a.post(`/admin/embargo-extensions/${id}/approve`, {}, { csrfFrom: '/admin/requests' })).location).to.equal('/admin/requests');
    expect(await end()).to.equal('2028-06-30T23:59:59.000Z');
    expect(actions()).to.include.members(['embargo.change', 'embargo.extension-approve']);
    const change = t.portal.audit.query({ action: 'embargo.change' }).find((e) => e.target === 'corona')!;
    expect(change.details).to.deep.include({ from: '2027-01-01T23:59:59.000Z', to: '2028-06-30T23:59:59.000Z' });
    expect(String((change.details as { reason: string }).reason)).to.include('extension requested by pia');
    expect((await a.post(`/admin/embargo-extensions/${id}/approve`, {}, { csrfFrom: '/admin/requests' })).status, 'twice').to.equal(409);
    expect(decodeHtml((await p.get('/campaigns/corona')).body)).to.include('approved by pat');
  });

  it('a denial keeps the date and shows the reason to the PI', async () => {
    const p = as(pia);
    await p.get('/login/certificate');
    await p.post('/campaigns/corona/embargo-extension', { newEnd: '2030-01-01', reason: 'Another year for the follow-up paper.' }, { csrfFrom: '/campaigns/corona' });
    const a = as(t.people.pat);
    await a.get('/login/certificate');
    const id = /action="\/admin\/embargo-extensions\/([0-9a-f-]+)\/deny"/.exec((await a.get('/admin/requests')).body)![1]!;
    expect((await a.post(`/admin/embargo-extensions/${id}/deny`, { reason: 'Funding agency requires release by 2029.' }, { csrfFrom: '/admin/requests' })).status).to.equal(302);
    expect(await end()).to.equal('2028-06-30T23:59:59.000Z');
    expect(decodeHtml((await p.get('/campaigns/corona')).body)).to.include('denied by pat').and.include('Funding agency requires release by 2029.');
    expect(actions()).to.include('embargo.extension-deny');
  });
});
