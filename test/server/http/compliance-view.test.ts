import { expect } from 'chai';
import { ageText, reportView } from '../../../server/http/routes/compliance.js';
import type { StoredReport } from '../../../server/services/compliance-reports.js';
import { createViewRenderer } from '../../../server/views.js';

const hostile = `<script>alert(1)</script>"'&`;

describe('compliance pages: age, staleness, escaping', () => {
  const stored = (generatedAt: string, site = 'Site'): StoredReport => ({
    id: 7, hostDn: '/DC=org/DC=example/CN=store1.example.org', host: 'store1.example.org', site, campaign: 'corona', generatedAt, receivedAt: generatedAt, signer: 'ab',
    document: {
      format: 'campaign-guard/compliance-report', version: 1, host: 'store1.example.org', site, generatedAt, quarantined: 0, traces: null,
      figures: { campaign: 'corona', files: 1, closed: 1, public: 0, drift: 0, released: { files: 0, last: null, runs: [] }, reembargoed: { files: 2, last: generatedAt, runs: [3, 9] } },
    },
  });

  it('says how old a report is, and marks it stale after the configured hours', () => {
    expect([ageText(59_000), ageText(59 * 60_000), ageText(61 * 60_000), ageText(47 * 3600_000), ageText(50 * 3600_000)]).to.deep.equal(['0 min', '59 min', '1 h 1 min', '47 h', '2 days 2 h']);
    const now = Date.parse('2026-12-02T12:00:00Z');
    expect(reportView(stored('2026-12-01T12:30:00.000Z'), 24, now)).to.deep.include({ stale: false, age: '23 h 30 min' });
    expect(reportView(stored('2026-12-01T11:59:00.000Z'), 24, now)).to.deep.include({ stale: true });
    expect(reportView(stored('2026-12-01T11:59:00.000Z'), 24, now).reembargoed).to.deep.equal({ files: 2, last: '2026-12-01T11:59:00.000Z', runs: '3 9' });
  });

  it('escapes what an agent wrote (its site label) on the pages', () => {
    const views = createViewRenderer();
    const report = reportView(stored('2026-12-01T12:30:00.000Z', hostile), 24, Date.parse('2026-12-05T00:00:00Z'));
    for (const [page, data] of [['compliance', { campaign: 'corona', reports: [report] }], ['admin/compliance', { reports: [report] }]] as const) {
      const html = views.render(page, { ...data, csrfToken: 't', me: { username: 'pia' } });
      expect(html, page).to.not.include('<script>alert(1)</script>');
      expect(html, page).to.include('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html, page).to.include('stale');
    }
  });
});
