/**
 * Issue 10 in headless Chromium: the changed pages (account with expiry warning and requests,
 * policy, PI's requests list with its menu count, campaign with add/leave) at 390 px width:
 * no page-wide horizontal scrolling, every input labelled, every button named (per-row buttons
 * name their row), input borders at least 3:1 against their background. Screenshots in /tmp.
 */
import { expect } from 'chai';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { issue } from '../support/pki.js';
import { useManagedSlapd } from '../support/slapd.js';
import { startTestPortal, type TestPortal } from '../support/test-portal.js';

const DAY = 86_400_000;

/** Runs in the page: what an accessibility check at this width finds wrong. */
function audit(): string[] {
  const problems: string[] = [];
  const lum = (c: string) => {
    const [r, g, b] = (c.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map((v) => {
      const x = Number(v) / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const bgOf = (el: Element | null): string => {
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c;
    }
    return 'rgb(255, 255, 255)';
  };
  if (document.documentElement.scrollWidth > window.innerWidth + 1) problems.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
  for (const el of Array.from(document.querySelectorAll('input:not([type=hidden]), textarea, select')) as HTMLInputElement[]) {
    const named = (el.labels?.length ?? 0) > 0 || !!el.getAttribute('aria-label');
    if (!named) problems.push(`unlabelled ${el.tagName.toLowerCase()} ${el.name}`);
    if (el.type !== 'checkbox') {
      const border = getComputedStyle(el).borderTopColor;
      const [a, b] = [lum(border), lum(bgOf(el.parentElement))];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 3) problems.push(`input ${el.name} border contrast ${ratio.toFixed(2)}:1`);
    }
  }
  const texts = new Map<string, number>();
  for (const b of Array.from(document.querySelectorAll('main button')) as HTMLButtonElement[]) {
    const name = (b.getAttribute('aria-label') ?? b.textContent ?? '').trim();
    if (!name) problems.push('a button without a name');
    texts.set(name, (texts.get(name) ?? 0) + 1);
  }
  for (const [name, n] of texts) if (n > 1) problems.push(`${n} buttons named "${name}": per-row buttons must name their row`);
  return problems;
}

describe('changed pages at 390 px in headless Chromium (accessibility basics)', function () {
  this.timeout(120000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let browser: Browser;
  const files: Record<string, { cert: string; key: string }> = {};

  before(async function () {
    t = await startTestPortal(fx);
    const dir = mkdtempSync(join(tmpdir(), 'cg-narrow-'));
    const d = t.portal.directory.directory;
    const people = [['lena', 'Lena Longname-Observatory-Of-The-Very-Long-Institute-Name', 5], ['theo', 'Theo Two', 300]] as const;
    for (const [username, cn, days] of people) {
      const c = await issue(t.ca, [{ DC: ['org'] }, { DC: ['example'] }, { O: ['A very long organisation name that never ends'] }, { CN: [cn] }], 'user',
        { notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + days * DAY + 3600_000) });
      files[username] = { cert: join(dir, `${username}.pem`), key: join(dir, `${username}.key`) };
      writeFileSync(files[username]!.cert, c.certPem);
      writeFileSync(files[username]!.key, c.keyPem);
      await d.people.create({ username, displayName: cn, mail: `${username}@example.org`, policyAgreements: ['aup-2026'] });
      await d.identities.bind(username, { type: 'x509', subject: `/DC=org/DC=example/O=A very long organisation name that never ends/CN=${cn}`, notAfter: new Date(Date.now() + days * DAY + 3600_000) });
    }
    await d.campaigns.create({ name: 'corona', pi: 'theo' });
    await d.campaigns.create({ name: 'halo', pi: 'theo' });
    await d.campaigns.addMember('halo', 'lena');
    await d.requests.create({ campaign: 'corona', requester: 'lena', justification: 'Coronal loops, a justification long enough to wrap on a phone screen several times over.' });
    await d.requests.create({ campaign: 'flare', requester: 'lena', justification: 'Flares too.' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  async function phone(who: string): Promise<Page> {
    const ctx = await browser.newContext({
      ignoreHTTPSErrors: true, viewport: { width: 390, height: 844 },
      clientCertificates: [{ origin: t.base, certPath: files[who]!.cert, keyPath: files[who]!.key }],
    });
    // tsx keeps function names with a __name helper that the page does not have.
    await ctx.addInitScript({ content: 'globalThis.__name = (f) => f;' });
    const page = await ctx.newPage();
    await page.goto(`${t.base}/login/certificate`);
    await page.waitForURL('**/account');
    return page;
  }

  async function check(page: Page, path: string, shot: string): Promise<string> {
    await page.goto(`${t.base}${path}`);
    await page.screenshot({ path: `/tmp/cg-390-${shot}.png`, fullPage: true });
    expect(await page.evaluate(audit), `${path} at 390 px`).to.deep.equal([]);
    return (await page.textContent('main'))!;
  }

  it('a member: account (expiry warning, requests with withdraw), campaign (leave), policy', async () => {
    const lena = await phone('lena');
    const account = await check(lena, '/account', 'account');
    expect(account).to.match(/expires in 5 days/).and.include('waiting for the PI');
    await lena.getByRole('button', { name: 'Withdraw request for flare' }).click();
    await lena.waitForURL('**/account');
    expect(await lena.textContent('main')).to.include('Your request to join flare was withdrawn.');
    const campaign = await check(lena, '/campaigns/halo', 'campaign-member');
    expect(campaign).to.include('Leave halo');
    expect(await check(lena, '/policy', 'policy')).to.include('By using this service you agree');
  });

  it('a PI without the admin role: the menu count, the requests list, approve from it, add a member', async () => {
    const theo = await phone('theo');
    expect(await theo.getByRole('link', { name: /Requests/ }).textContent()).to.include('1');
    const list = await check(theo, '/requests', 'requests');
    expect(list).to.include('Coronal loops');
    await theo.getByRole('button', { name: 'Approve lena for corona' }).click();
    await theo.waitForURL('**/campaigns/corona');
    expect(await theo.textContent('main')).to.include('Approved: lena for corona.');
    await check(theo, '/campaigns/corona', 'campaign-pi');
    await theo.getByLabel('Add a member directly (username)').fill('pat');
    await theo.getByRole('button', { name: 'Add member' }).click();
    expect(await theo.textContent('main')).to.include('Added pat to corona.');
    expect((await t.portal.directory.directory.campaigns.require('corona')).members.sort()).to.deep.equal(['lena', 'pat', 'theo']);
    expect(await theo.getByRole('link', { name: /Requests/ }).count(), 'no count once none is pending').to.equal(0);
  });
});
