/**
 * Issue 18 item 2: an admin sets a campaign's proprietary period (rolling release) on the campaign
 * page: a CSRF form with a labelled input, validated, audited as embargo.change. Real TLS, real slapd.
 */
import { expect } from 'chai';
import { startTestPortal, type TestPortal } from '../../support/test-portal.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { decodeHtml, PortalClient } from '../../support/portal-client.js';

describe('rolling release on the campaign page (portal over real TLS, real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let p: PortalClient;
  const days = async () => (await t.portal.directory.directory.campaigns.require('flare')).proprietaryDays;

  before(async () => {
    t = await startTestPortal(fx);
    p = new PortalClient(t.base, { ca: t.ca.certPem, cert: t.people.pat.certPem, key: t.people.pat.keyPem });
    await p.get('/login/certificate');
  });
  after(async () => {
    await t?.close();
  });

  it('sets, shows and removes the period; refuses bad values and a missing reason; audited', async () => {
    const page = decodeHtml((await p.get('/campaigns/flare')).body);
    expect(page).to.include('action="/campaigns/flare/proprietary-period"').and.include('Proprietary period in days');
    expect((await p.post('/campaigns/flare/proprietary-period', { proprietaryDays: '365' }, { csrfFrom: '/campaigns/flare' })).status, 'no reason').to.equal(400);
    expect((await p.post('/campaigns/flare/proprietary-period', { proprietaryDays: '0', reason: 'rolling' }, { csrfFrom: '/campaigns/flare' })).status).to.equal(400);
    expect(await days()).to.equal(undefined);
    expect((await p.post('/campaigns/flare/proprietary-period', { proprietaryDays: '365', reason: 'rolling release agreed' }, { csrfFrom: '/campaigns/flare' })).status).to.equal(302);
    expect(await days()).to.equal(365);
    expect(decodeHtml((await p.get('/campaigns/flare')).body)).to.include('each file 365 days after its observation date');
    const e = t.portal.audit.query({ action: 'embargo.change' }).find((x) => x.target === 'flare')!;
    expect(e.details).to.deep.include({ proprietaryDaysFrom: null, proprietaryDaysTo: 365, reason: 'rolling release agreed' });
    expect((await p.post('/campaigns/flare/proprietary-period', { proprietaryDays: '', reason: 'back to the date' }, { csrfFrom: '/campaigns/flare' })).status).to.equal(302);
    expect(await days()).to.equal(undefined);
  });

  it('without the CSRF token nothing changes', async () => {
    const r = await p.post('/campaigns/flare/proprietary-period', { proprietaryDays: '30', reason: 'no token' }, { noCsrf: true });
    expect(r.status).to.be.within(400, 499);
    expect(await days()).to.equal(undefined);
  });
});
