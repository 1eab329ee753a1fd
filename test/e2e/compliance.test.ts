/**
 * The compliance page in headless Chromium (Debian's /usr/bin/chromium, playwright-core): an agent
 * computes its report from real files and publishes it signed; the campaign's PI (no admin role)
 * logs in with a certificate, follows the link on the campaign page and reads the figures.
 */
import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { agentConfigSchema } from '../../mapper-agent/config.js';
import { ingestCommand, reportCommand } from '../../mapper-agent/ingest/commands.js';
import { createLogger } from '../../core/log.js';
import { issue } from '../support/pki.js';
import { fitsFile } from '../support/fits.js';
import { useManagedSlapd } from '../support/slapd.js';
import { startTestPortal, type TestPortal } from '../support/test-portal.js';


describe('compliance page in headless Chromium (end to end)', function () {
  this.timeout(120000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let browser: Browser;
  let dir: string;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    t = await startTestPortal(fx, { portal: { complianceReports: { agentHosts: ['/DC=org/DC=example/CN=store1.example.org'] } } });
    dir = mkdtempSync(join(tmpdir(), 'cg-e2e-compliance-'));
    const pia = await issue(t.ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Pia Investigator'] }], 'user');
    writeFileSync(join(dir, 'pia.pem'), pia.certPem);
    writeFileSync(join(dir, 'pia.key'), pia.keyPem);
    const d = t.portal.directory.directory;
    await d.people.create({ username: 'pia', displayName: 'Pia', policyAgreements: ['aup-2026'] });
    await d.identities.bind('pia', { type: 'x509', subject: '/DC=org/DC=example/CN=Pia Investigator' });
    await d.campaigns.create({ name: 'corona', pi: 'pia', embargoEnd: new Date('2031-01-01T00:00:00Z') });

    const host = await issue(t.ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['store1.example.org'] }], 'server', { dnsNames: ['store1.example.org'] });
    writeFileSync(join(dir, 'host.pem'), host.certPem);
    writeFileSync(join(dir, 'host.key'), host.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'ca.pem'), t.ca.certPem);
    const root = join(dir, 'data');
    mkdirSync(join(root, 'obs'), { recursive: true });
    for (const [name, cards] of [['a.fits', [['CAMPAIGN', 'corona']]], ['b.fits', [['CAMPAIGN', 'corona']]], ['q.fits', [['CAMPAIGN', 'corona'], ['LEVEL', 'QL']]]] as const) {
      writeFileSync(join(root, 'obs', name), fitsFile(cards.map(([k, v]) => [k, v] as [string, string])));
      chmodSync(join(root, 'obs', name), 0o664);
    }
    const cfg = agentConfigSchema.parse({
      ldap: { url: fx.slapd.url, bindDn: fx.slapd.agent.dn, password: fx.slapd.agent.password, baseDn: fx.slapd.baseDn },
      agent: {
        stateDir: join(dir, 'state'), ingest: { roots: [root], workers: 1 },
        traces: { enabled: true, certFile: join(dir, 'host.pem'), keyFile: join(dir, 'host.key'), caPaths: [t.trustDir] },
        report: { publishUrl: `${t.base}/api/compliance-reports`, site: 'Site One', caFile: join(dir, 'ca.pem') },
      },
    });
    const ctx = { cfg, ldap: fx.agent, log: createLogger('test'), out: () => undefined };
    await ingestCommand(ctx, [root], { dryRun: false });
    await reportCommand(ctx, { format: 'json', publish: true });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('the PI follows the link from the campaign page and reads the signed figures', async () => {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, javaScriptEnabled: false, clientCertificates: [{ origin: t.base, certPath: join(dir, 'pia.pem'), keyPath: join(dir, 'pia.key') }] });
    const page = await ctx.newPage();
    await page.goto(`${t.base}/login/certificate`);
    await page.waitForURL('**/account');
    await page.goto(`${t.base}/campaigns/corona`);
    await page.getByRole('link', { name: 'Embargo compliance report' }).click();
    await page.waitForURL('**/campaigns/corona/compliance');
    expect(await page.textContent('h1')).to.equal('corona: embargo compliance');
    const section = page.getByRole('region', { name: 'Report of store1.example.org' });
    expect(await section.textContent()).to.include('Site One');
    const figure = async (name: string) => (await section.locator(`td[data-figure="${name}"]`).textContent())!.trim();
    expect(await figure('files')).to.equal('3');
    expect(await figure('closed')).to.equal('2');
    expect(await figure('public')).to.equal('1');
    expect(await figure('drift')).to.equal('0');
    expect(await section.textContent()).to.match(/3 signed traces of corona \(ingest 3\)/);
    expect(await section.getByRole('link', { name: 'Download the signed report (.p7m)' }).getAttribute('href')).to.match(/^\/campaigns\/corona\/compliance\/\d+\.p7m$/);
    await page.screenshot({ path: '/tmp/cg-e2e-compliance.png', fullPage: true });
  });
});
