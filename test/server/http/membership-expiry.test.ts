/**
 * Issue 10, membership end dates through the portal's forms (portal over real TLS, real slapd):
 * the PI (no admin role) sets an end on approval, on a direct add and on the members list; the
 * forms need CSRF and label their inputs; refusals; the account page and the members list show
 * the date. The expiry job itself: test/server/services/membership-expiry.test.ts.
 */
import { expect } from 'chai';
import { issue, type Issued } from '../../support/pki.js';
import { startTestPortal, type TestPortal } from '../../support/test-portal.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { decodeHtml, PortalClient } from '../../support/portal-client.js';

const DAY = 86_400_000;
const isoDay = (ms: number) => new Date(Date.now() + ms).toISOString().slice(0, 10);

describe('membership end dates in the portal (real TLS, real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let pia: Issued, omar: Issued;
  const as = (who: Issued) => new PortalClient(t.base, { ca: t.ca.certPem, cert: who.certPem, key: who.keyPem });
  const dir = () => t.portal.directory.directory;
  const untilValues = async () => (await fx.portal.read(dir().layout.campaignDn('tide'), ['cgMemberUntil']))!.getAll('cgMemberUntil').sort();

  before(async () => {
    t = await startTestPortal(fx);
    pia = await issue(t.ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Pia Investigator'] }], 'user');
    omar = await issue(t.ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Omar Other'] }], 'user');
    for (const [username, subject] of [['pia', 'Pia Investigator'], ['nina', 'Nina Newcomer'], ['omar', 'Omar Other']] as const) {
      await dir().people.create({ username, displayName: subject, policyAgreements: ['aup-2026'] });
      await dir().identities.bind(username, { type: 'x509', subject: `/DC=org/DC=example/CN=${subject}` });
    }
    await dir().campaigns.create({ name: 'tide', pi: 'pia' });
  });
  after(async () => {
    await t?.close();
  });

  it('the PI approves with an end date (labelled field, CSRF); the member sees it on the account page', async () => {
    const n = as(t.people.nina);
    await n.get('/login/certificate');
    await n.post('/campaigns/tide/requests', { justification: 'Tidal gauge calibration, please.' }, { csrfFrom: '/campaigns/tide' });
    const p = as(pia);
    await p.get('/login/certificate');
    const pageHtml = decodeHtml((await p.get('/campaigns/tide')).body);
    expect(pageHtml).to.include('aria-label="Membership end for nina (optional)"');
    expect(decodeHtml((await p.get('/requests')).body)).to.include('aria-label="Membership end for nina in tide (optional)"');
    const id = (await dir().requests.byRequester('nina', 'pending'))[0]!.id;
    const end = isoDay(30 * DAY);
    expect((await p.post(`/requests/${id}/approve`, { until: end }, { noCsrf: true })).status, 'CSRF').to.equal(403);
    expect((await p.post(`/requests/${id}/approve`, { until: isoDay(-DAY) }, { csrfFrom: '/campaigns/tide' })).status, 'past date').to.equal(400);
    expect((await dir().requests.get(id))!.state, 'a refused date decides nothing').to.equal('pending');
    expect((await p.post(`/requests/${id}/approve`, { until: end }, { csrfFrom: '/campaigns/tide' })).status).to.equal(302);
    expect((await dir().campaigns.require('tide')).members).to.include('nina');
    expect(await untilValues()).to.deep.equal([`nina ${end.replace(/-/g, '')}235959Z`]);
    expect(decodeHtml((await n.get('/account')).body)).to.include(`member until ${end}`);
    const audit = t.portal.audit.query({ action: 'membership.approve' }).find((e) => e.target === 'tide')!;
    expect((audit.details as { until?: string }).until).to.equal(`${end}T23:59:59.000Z`);
  });

  it('a direct add with an end; the members list shows and changes it; an empty date clears it', async () => {
    const p = as(pia);
    await p.get('/login/certificate');
    const end = isoDay(10 * DAY);
    expect((await p.post('/campaigns/tide/members', { username: 'omar', until: end }, { csrfFrom: '/campaigns/tide' })).status).to.equal(302);
    expect(await untilValues()).to.include(`omar ${end.replace(/-/g, '')}235959Z`);
    const list = decodeHtml((await p.get('/campaigns/tide')).body);
    expect(list).to.include('<th>Member until</th>').and.include('no end (PI)')
      .and.include(`value="${end}" aria-label="Membership end of omar (empty: no end)"`).and.include('aria-label="Set the membership end of omar"')
      .and.include('Membership ends (optional; through that day, UTC) <input type="date" name="until">');
    const later = isoDay(60 * DAY);
    expect((await p.post('/campaigns/tide/members/omar/until', { until: later }, { csrfFrom: '/campaigns/tide' })).status).to.equal(302);
    expect((await untilValues()).filter((v) => v.startsWith('omar '))).to.deep.equal([`omar ${later.replace(/-/g, '')}235959Z`]);
    expect(t.portal.audit.query({ action: 'membership.until' }).filter((e) => e.target === 'tide').map((e) => e.actor)).to.deep.equal(['pia']);
    // A member sees the dates, without forms.
    const o = as(omar);
    await o.get('/login/certificate');
    const seen = decodeHtml((await o.get('/campaigns/tide')).body);
    expect(seen).to.include(later).and.not.include('/members/omar/until');
    expect(decodeHtml((await o.get('/account')).body)).to.include(`member until ${later}`);
    expect((await p.post('/campaigns/tide/members/omar/until', { until: '' }, { csrfFrom: '/campaigns/tide' })).status).to.equal(302);
    expect((await untilValues()).filter((v) => v.startsWith('omar '))).to.deep.equal([]);
  });

  it('refuses a past or malformed date, a non-member, the PI, someone who is not the PI, and a form without CSRF', async () => {
    const p = as(pia);
    await p.get('/login/certificate');
    const post = (who: PortalClient, user: string, until: string, opts = {}) => who.post(`/campaigns/tide/members/${user}/until`, { until }, { csrfFrom: '/campaigns/tide', ...opts });
    const past = await post(p, 'omar', isoDay(-DAY));
    expect(past.status).to.equal(400);
    expect(decodeHtml(past.body)).to.include('the membership end must be in the future');
    expect((await post(p, 'omar', '31.12.2030')).status).to.equal(400);
    expect((await post(p, 'mallory', isoDay(5 * DAY))).status, 'not a member').to.equal(404);
    expect((await post(p, 'pia', isoDay(5 * DAY))).status, 'the PI').to.equal(409);
    expect((await post(p, 'omar', isoDay(5 * DAY), { noCsrf: true })).status, 'CSRF').to.equal(403);
    const o = as(omar);
    await o.get('/login/certificate');
    expect((await post(o, 'nina', isoDay(5 * DAY))).status, 'not the PI').to.equal(403);
    expect((await untilValues()).map((v) => v.split(' ')[0])).to.deep.equal(['nina']);
  });
});
