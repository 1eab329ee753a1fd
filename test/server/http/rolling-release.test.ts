/**
 * Issue 18 item 2: an admin sets a campaign's proprietary period (rolling release) on the campaign
 * page: a CSRF form with a labelled input, validated, audited as embargo.change; the JSON API returns
 * and sets it the same way, with a bearer token from a real OpenID Provider. Real TLS, real slapd.
 */
import { expect } from 'chai';
import * as client from 'openid-client';
import { OpenIdConnectLogin } from '../../../server/auth/oidc.js';
import { followLogin, TEST_CLIENT } from '../../support/openid-provider.js';
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
    // Every page that shows the embargo says the rule, with its floor when the campaign has a date.
    const end = (await t.portal.directory.directory.campaigns.require('flare')).embargoEnd?.toISOString().slice(0, 10);
    const rule = `rolling: 365 days after observation${end ? `, not before ${end}` : ''}`;
    const shown = decodeHtml((await p.get('/campaigns/flare')).body);
    expect(shown).to.include(rule).and.include('each file opens 365 days after its observation date');
    expect(shown).not.to.include(`until ${end}`);
    expect(decodeHtml((await p.get('/campaigns')).body)).to.include(rule);
    expect(decodeHtml((await p.get('/admin/campaigns')).body)).to.include(rule);
    const e = t.portal.audit.query({ action: 'embargo.change' }).find((x) => x.target === 'flare')!;
    expect(e.details).to.deep.include({ proprietaryDaysFrom: null, proprietaryDaysTo: 365, reason: 'rolling release agreed' });
    expect((await p.post('/campaigns/flare/proprietary-period', { proprietaryDays: '', reason: 'back to the date' }, { csrfFrom: '/campaigns/flare' })).status).to.equal(302);
    expect(await days()).to.equal(undefined);
    expect(decodeHtml((await p.get('/campaigns/flare')).body)).not.to.include('rolling:');
  });

  it('on released data a longer period asks again (copies cannot be recalled), a shorter one too; each confirmed change is audited with its effect', async () => {
    const d = t.portal.directory.directory;
    await d.campaigns.create({ name: 'old-rolling', pi: 'pat', embargoEnd: new Date('2024-01-01T23:59:59Z') });
    const ask = await p.post('/campaigns/old-rolling/proprietary-period', { proprietaryDays: '365', reason: 'rolling release after all' }, { csrfFrom: '/campaigns/old-rolling' });
    expect(ask.status).to.equal(200);
    const text = decodeHtml(ask.body);
    expect(text).to.include('Close released files of old-rolling again?').and.include('public since 2024-01-01').and.include('may have been copied');
    expect((await d.campaigns.require('old-rolling')).proprietaryDays, 'nothing changed before the second answer').to.equal(undefined);
    const yes = await p.post('/campaigns/old-rolling/proprietary-period', { proprietaryDays: '365', reason: 'rolling release after all', confirmed: 'yes' }, { csrfFrom: '/campaigns/old-rolling' });
    expect(yes.status).to.equal(302);
    expect((await d.campaigns.require('old-rolling')).proprietaryDays).to.equal(365);
    const shorter = await p.post('/campaigns/old-rolling/proprietary-period', { proprietaryDays: '30', reason: 'agreed shorter' }, { csrfFrom: '/campaigns/old-rolling' });
    expect(decodeHtml(shorter.body)).to.include('Open files of old-rolling earlier?');
    expect((await d.campaigns.require('old-rolling')).proprietaryDays).to.equal(365);
    await p.post('/campaigns/old-rolling/proprietary-period', { proprietaryDays: '30', reason: 'agreed shorter', confirmed: 'yes' }, { csrfFrom: '/campaigns/old-rolling' });
    expect((await d.campaigns.require('old-rolling')).proprietaryDays).to.equal(30);
    const records = t.portal.audit.query({ action: 'embargo.change' }).filter((x) => x.target === 'old-rolling').map((x) => x.details);
    expect(records).to.deep.include.members([
      { proprietaryDaysFrom: null, proprietaryDaysTo: 365, reason: 'rolling release after all', reembargo: true },
      { proprietaryDaysFrom: 365, proprietaryDaysTo: 30, reason: 'agreed shorter', opensEarlier: true },
    ]);
  });

  it('without the CSRF token nothing changes', async () => {
    const r = await p.post('/campaigns/flare/proprietary-period', { proprietaryDays: '30', reason: 'no token' }, { noCsrf: true });
    expect(r.status).to.be.within(400, 499);
    expect(await days()).to.equal(undefined);
  });

  describe('the JSON API (bearer tokens from a real OpenID Provider)', () => {
    /** pat's access token (pat-iam at the test OP, bound to pat here) with these scopes. */
    const patToken = async (scopes: string) => {
      const oidc = new OpenIdConnectLogin([{ id: 'test', name: 'Test', issuer: t.op.issuer, clientId: TEST_CLIENT.id, clientSecret: TEST_CLIENT.secret, scopes }]);
      t.op.nextLogin = 'pat-iam';
      const { url, pending } = await oidc.start('test', `${t.base}/login/oidc/test/callback`);
      const cb = await followLogin(url, `${t.base}/login/oidc/test/callback`);
      return (await client.authorizationCodeGrant(await oidc.configuration('test'), cb, { pkceCodeVerifier: pending.codeVerifier!, expectedState: pending.state!, expectedNonce: pending.nonce! })).access_token;
    };
    const api = () => new PortalClient(t.base, { ca: t.ca.certPem });
    before(async () => {
      await t.portal.directory.directory.identities.bind('pat', { type: 'oidc', issuer: t.op.issuer, subject: 'pat-iam' });
    });

    it('returns proprietaryDays beside embargoEnd (null when not rolling); sets it as the page does: admin scope, reason, validated, audited', async () => {
      const d = t.portal.directory.directory;
      await d.campaigns.create({ name: 'api-rolling', pi: 'pat', embargoEnd: new Date('2031-01-01T23:59:59Z') });
      const admin = { authorization: `Bearer ${await patToken('openid campaign-guard campaign-guard:admin')}` };
      type Row = { name: string; embargoEnd: string | null; proprietaryDays: number | null };
      const list = async () => JSON.parse((await api().get('/api/campaigns', { headers: admin })).body) as Row[];
      expect((await list()).find((c) => c.name === 'api-rolling')).to.deep.include({ embargoEnd: '2031-01-01T23:59:59.000Z', proprietaryDays: null });

      const put = (body: unknown, auth = admin) => api().json('PUT', '/api/admin/campaigns/api-rolling/proprietary-period', body, auth);
      const noScope = { authorization: `Bearer ${await patToken('openid campaign-guard')}` };
      expect((await put({ proprietaryDays: 30, reason: 'rolling' }, noScope)).status, 'admin role without the admin scope').to.equal(403);
      expect((await put({ proprietaryDays: 30 })).status, 'no reason').to.equal(400);
      for (const bad of [0, -1, 1.5, 36501, '30 days', true]) {
        const r = await put({ proprietaryDays: bad, reason: 'rolling release' });
        expect(r.status, JSON.stringify(bad)).to.equal(400);
        expect(JSON.parse(r.body).error).to.include('whole days, 1 to 36500');
      }
      expect((await d.campaigns.require('api-rolling')).proprietaryDays).to.equal(undefined);

      const set = await put({ proprietaryDays: 90, reason: 'rolling release agreed' });
      expect(set.status).to.equal(200);
      expect(JSON.parse(set.body)).to.deep.include({ name: 'api-rolling', embargoEnd: '2031-01-01T23:59:59.000Z', proprietaryDays: 90 });
      expect((await d.campaigns.require('api-rolling')).proprietaryDays).to.equal(90);
      expect((await list()).find((c) => c.name === 'api-rolling')).to.deep.include({ proprietaryDays: 90 });
      const e = t.portal.audit.query({ action: 'embargo.change' }).find((x) => x.target === 'api-rolling')!;
      expect(e.actor).to.equal('pat');
      expect(e.details).to.deep.include({ proprietaryDaysFrom: null, proprietaryDaysTo: 90, reason: 'rolling release agreed' });

      // The embargo route returns the period too; null removes it.
      const floor = await api().json('PUT', '/api/admin/campaigns/api-rolling/embargo', { embargoEnd: '2032-01-01', reason: 'later floor' }, admin);
      expect(floor.status).to.equal(200);
      expect(JSON.parse(floor.body)).to.deep.include({ embargoEnd: '2032-01-01T23:59:59.000Z', proprietaryDays: 90 });
      // On released data the API asks the pages' second question as a refusal.
      await d.campaigns.create({ name: 'api-released', pi: 'pat', embargoEnd: new Date('2024-01-01T23:59:59Z') });
      const putReleased = (body: unknown) => api().json('PUT', '/api/admin/campaigns/api-released/proprietary-period', body, admin);
      const refused = await putReleased({ proprietaryDays: 90, reason: 'rolling after all' });
      expect(refused.status).to.equal(409);
      expect(JSON.parse(refused.body).error).to.include('public since 2024-01-01').and.include('cannot be recalled').and.include('"confirm": true');
      expect((await d.campaigns.require('api-released')).proprietaryDays).to.equal(undefined);
      expect((await putReleased({ proprietaryDays: 90, reason: 'rolling after all', confirm: true })).status).to.equal(200);
      expect((await d.campaigns.require('api-released')).proprietaryDays).to.equal(90);
      const off = await put({ proprietaryDays: null, reason: 'back to the date' });
      expect(JSON.parse(off.body)).to.deep.include({ proprietaryDays: null });
      expect((await d.campaigns.require('api-rolling')).proprietaryDays).to.equal(undefined);
    });
  });
});
