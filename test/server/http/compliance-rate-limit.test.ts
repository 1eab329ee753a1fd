/**
 * Anyone can send a compliance publication (the signature is its only authentication), and
 * checking one costs a CMS verification: one address gets portal.complianceReports.rateLimitPerMinute
 * publications a minute, then 429 before the body is read. Portal over real TLS, real slapd.
 */
import { expect } from 'chai';
import { startTestPortal, type TestPortal } from '../../support/test-portal.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { PortalClient } from '../../support/portal-client.js';

describe('server/http/routes/compliance: publications are rate-limited per address (real TLS, real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;

  before(async () => {
    t = await startTestPortal(fx, { portal: { complianceReports: { rateLimitPerMinute: 2 } } });
  });
  after(async () => {
    await t?.close();
  });

  it('the third publication in a minute gets 429 with Retry-After; the first two are checked (and refused: not signed)', async () => {
    const c = new PortalClient(t.base, { ca: t.ca.certPem });
    const send = () => c.json('POST', '/api/compliance-reports', { reports: ['bm90IGEgY21zIGRvY3VtZW50'] });
    expect((await send()).status).to.equal(400);
    expect((await send()).status).to.equal(400);
    const limited = await send();
    expect(limited.status).to.equal(429);
    expect(limited.headers['retry-after']).to.match(/^\d+$/);
  });
});
