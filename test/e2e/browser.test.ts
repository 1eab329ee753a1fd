/**
 * End to end in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; no
 * browser download): a newcomer logs in with a client certificate, registers, sees the
 * certificate bound, asks to join a campaign; the PI logs in with their own certificate and
 * approves; the newcomer then sees the members list.
 */
import { expect } from 'chai';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { useManagedSlapd } from '../support/slapd.js';
import { startTestPortal, type TestPortal } from '../support/test-portal.js';


describe('portal in headless Chromium (end to end)', function () {
  this.timeout(120000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let browser: Browser;

  before(async function () {
    t = await startTestPortal(fx);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  const contextFor = (who: 'nina' | 'pat'): Promise<BrowserContext> =>
    browser.newContext({ ignoreHTTPSErrors: true, clientCertificates: [{ origin: t.base, certPath: t.files[who].cert, keyPath: t.files[who].key }] });

  it('registers with a certificate, requests to join, and the PI approves', async () => {
    const nina = await (await contextFor('nina')).newPage();
    await nina.goto(t.base);
    await nina.getByRole('link', { name: 'Log in with a certificate' }).click();
    await nina.waitForURL('**/register');
    expect(await nina.textContent('main')).to.include('/DC=org/DC=example/CN=Nina Newcomer');
    await nina.getByLabel('Username').fill('nina');
    await nina.getByLabel('Full name').fill('Nina Newcomer');
    await nina.getByLabel('E-mail').fill('nina@example.org');
    await nina.getByRole('checkbox').check();
    await nina.getByRole('button', { name: 'Create account' }).click();
    await nina.waitForURL('**/account');
    const account = (await nina.textContent('main'))!;
    expect(account).to.match(/Welcome, nina: your account has UID \d+/);
    expect(account).to.include('/DC=org/DC=example/CN=Nina Newcomer');
    await nina.screenshot({ path: '/tmp/cg-e2e-account.png', fullPage: true });

    await nina.getByRole('link', { name: 'Campaigns', exact: true }).click();
    await nina.getByRole('link', { name: 'flare' }).first().click();
    await nina.getByLabel('Why do you need access?').fill('I calibrate the flare spectra for the campaign.');
    await nina.getByRole('button', { name: 'Send request to the PI' }).click();
    expect(await nina.textContent('main')).to.include('Your request was sent to the PI.');

    const pat = await (await contextFor('pat')).newPage();
    await pat.goto(`${t.base}/login/certificate`);
    await pat.waitForURL('**/account');
    await pat.goto(`${t.base}/campaigns/flare`);
    expect(await pat.textContent('main')).to.include('I calibrate the flare spectra');
    await pat.getByRole('button', { name: 'Approve' }).click();
    expect(await pat.textContent('main')).to.include('Approved: nina for flare.');
    await pat.screenshot({ path: '/tmp/cg-e2e-pi.png', fullPage: true });

    await nina.goto(`${t.base}/campaigns/flare`);
    const members = (await nina.textContent('main'))!;
    expect(members).to.include('Members').and.include('nina');
    expect((await t.portal.directory.directory.campaigns.require('flare')).members.sort()).to.deep.equal(['nina', 'pat']);
  });

  it('pages work without JavaScript: no scripts, and the CSP forbids them', async () => {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, javaScriptEnabled: false });
    const page = await ctx.newPage();
    const res = await page.goto(t.base);
    expect(res!.headers()['content-security-policy']).to.include("script-src 'none'");
    expect(await page.locator('script').count()).to.equal(0);
    expect(await page.textContent('h1')).to.include('Access to embargoed campaign data');
  });
});
