/**
 * Issue 10 (items 5): safer admin actions over real TLS and real slapd: an embargo change that
 * opens data earlier needs a second confirmation that says when; close and reopen take a reason;
 * a PI's removal carries a reason; all audited with the reason.
 */
import { expect } from 'chai';
import { startTestPortal, type TestPortal } from '../../support/test-portal.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { decodeHtml, PortalClient } from '../../support/portal-client.js';

describe('safer admin actions (portal over real TLS, real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let p: PortalClient;
  const end = async () => (await t.portal.directory.directory.campaigns.require('flare')).embargoEnd?.toISOString() ?? null;
  const last = (action: string) => t.portal.audit.query({ action }).find((e) => e.target === 'flare');

  before(async () => {
    t = await startTestPortal(fx);
    p = new PortalClient(t.base, { ca: t.ca.certPem, cert: t.people.pat.certPem, key: t.people.pat.keyPem });
    await p.get('/login/certificate');
  });
  after(async () => {
    await t?.close();
  });

  it('a later embargo end needs no second step; a shorter one, a past one or lifting it asks again and says when files open', async () => {
    expect((await p.post('/campaigns/flare/embargo', { embargoEnd: '2031-01-01', reason: 'longer survey' }, { csrfFrom: '/campaigns/flare' })).status).to.equal(302);
    expect(await end()).to.equal('2031-01-01T23:59:59.000Z');

    const shorter = await p.post('/campaigns/flare/embargo', { embargoEnd: '2029-06-30', reason: 'early release agreed' }, { csrfFrom: '/campaigns/flare' });
    expect(shorter.status, 'a confirmation page, nothing changed yet').to.equal(200);
    const body = decodeHtml(shorter.body);
    expect(body).to.include('now ends on 2031-01-01').and.include('become world-readable').and.include('on 2029-06-30').and.include('mapper-agent embargo --dry-run');
    expect(await end()).to.equal('2031-01-01T23:59:59.000Z');
    expect((await p.post('/campaigns/flare/embargo', { embargoEnd: '2029-06-30', reason: 'early release agreed', confirmed: 'yes' }, { csrfFrom: '/campaigns/flare' })).status).to.equal(302);
    expect(await end()).to.equal('2029-06-30T23:59:59.000Z');

    const lift = decodeHtml((await p.post('/campaigns/flare/embargo', { embargoEnd: '', reason: 'published' }, { csrfFrom: '/campaigns/flare' })).body);
    expect(lift).to.include('Yes, open flare now');
    const past = decodeHtml((await p.post('/campaigns/flare/embargo', { embargoEnd: '2020-01-01', reason: 'typo?' }, { csrfFrom: '/campaigns/flare' })).body);
    expect(past).to.include('<strong>now</strong>');
    expect(await end()).to.equal('2029-06-30T23:59:59.000Z');
  });

  it('close and reopen take a reason, audited; a PI removal with a reason is audited', async () => {
    expect((await p.post('/campaigns/flare/close', {}, { csrfFrom: '/campaigns/flare' })).status).to.equal(400);
    expect((await p.post('/campaigns/flare/close', { reason: 'survey finished' }, { csrfFrom: '/campaigns/flare' })).status).to.equal(302);
    expect((await t.portal.directory.directory.campaigns.require('flare')).state).to.equal('closed');
    expect(last('campaign.close')!.details).to.deep.include({ reason: 'survey finished' });
    expect(decodeHtml((await p.get('/campaigns/flare')).body)).to.include('Reopen campaign');
    expect((await p.post('/campaigns/flare/reopen', { reason: 'second season approved' }, { csrfFrom: '/campaigns/flare' })).status).to.equal(302);
    expect((await t.portal.directory.directory.campaigns.require('flare')).state).to.equal('open');
    expect(last('campaign.reopen')!.details).to.deep.include({ reason: 'second season approved' });

    const d = t.portal.directory.directory;
    await d.people.create({ username: 'rosa', displayName: 'Rosa', policyAgreements: ['aup-2026'] });
    await d.campaigns.addMember('flare', 'rosa');
    expect((await p.post('/campaigns/flare/members/rosa/remove', { reason: 'left the collaboration' }, { csrfFrom: '/campaigns/flare' })).status).to.equal(302);
    expect((await d.campaigns.require('flare')).members).to.not.include('rosa');
    expect(last('membership.remove')!.details).to.deep.include({ member: 'rosa', reason: 'left the collaboration' });
  });

  it('re-embargo: closing released data asks again, says copies may exist, and is audited as a re-embargo', async () => {
    const d = t.portal.directory.directory;
    await d.campaigns.create({ name: 'aurora', pi: 'pat', embargoEnd: new Date('2025-06-30T23:59:59Z') });
    const ask = await p.post('/campaigns/aurora/embargo', { embargoEnd: '2032-01-31', reason: 'PI asked: calibration wrong' }, { csrfFrom: '/campaigns/aurora' });
    expect(ask.status, 'a confirmation page, nothing changed yet').to.equal(200);
    const body = decodeHtml(ask.body);
    expect(body).to.include('Put aurora under embargo again?').and.include('public since 2025-06-30').and.include('may have been copied').and.include('Yes, close aurora again until 2032-01-31');
    expect((await d.campaigns.require('aurora')).embargoEnd?.toISOString()).to.equal('2025-06-30T23:59:59.000Z');
    expect((await p.post('/campaigns/aurora/embargo', { embargoEnd: '2032-01-31', reason: 'PI asked: calibration wrong', confirmed: 'yes' }, { csrfFrom: '/campaigns/aurora' })).status).to.equal(302);
    expect((await d.campaigns.require('aurora')).embargoEnd?.toISOString()).to.equal('2032-01-31T23:59:59.000Z');
    const audited = t.portal.audit.query({ action: 'embargo.change' }).find((e) => e.target === 'aurora');
    expect(audited!.details).to.deep.include({ from: '2025-06-30T23:59:59.000Z', to: '2032-01-31T23:59:59.000Z', reembargo: true });
    // A public campaign without an end date is released data too: setting one closes it again.
    await d.campaigns.create({ name: 'open-sky', pi: 'pat' });
    expect(decodeHtml((await p.post('/campaigns/open-sky/embargo', { embargoEnd: '2032-01-31', reason: 'mistake' }, { csrfFrom: '/campaigns/open-sky' })).body)).to.include('Put open-sky under embargo again?');
  });
});
