import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { AgentMetrics } from '../../mapper-agent/metrics.js';
import type { SyncStatus } from '../../mapper-agent/status.js';

describe('mapper-agent/metrics', () => {
  it('restores the last sync from the status file at start, so staleness alerts do not fire on a restart', async () => {
    const m = new AgentMetrics();
    m.restore({ lastSuccess: '2026-12-01T10:00:00.000Z', lines: 220000, durationMs: 2500, consecutiveFailures: 0 });
    expect(await m.registry.getSingleMetricAsString('cg_map_last_success_timestamp_seconds')).to.match(/ 1796119200$/m);
    expect(await m.registry.getSingleMetricAsString('cg_map_lines')).to.match(/ 220000$/m);
  });

  it('serves /health (liveness), /ready (last sync fresh and no failures) and /metrics', async () => {
    const m = new AgentMetrics();
    let status: SyncStatus = { lastSuccess: new Date().toISOString(), lines: 2, consecutiveFailures: 0 };
    const server = await m.serve(0, '127.0.0.1', () => status, 60);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await fetch(`${base}/health`)).status).to.equal(200);
      expect((await fetch(`${base}/ready`)).status).to.equal(200);
      status = { ...status, consecutiveFailures: 2, lastError: 'directory unavailable' };
      const failing = await fetch(`${base}/ready`);
      expect(failing.status).to.equal(503);
      expect(await failing.json()).to.include({ status: 'not ready', lastError: 'directory unavailable' });
      status = { lastSuccess: new Date(Date.now() - 120_000).toISOString(), consecutiveFailures: 0 };
      expect((await fetch(`${base}/ready`)).status, 'older than readyMaxAgeSeconds').to.equal(503);
      expect(await (await fetch(`${base}/metrics`)).text()).to.include('cg_map_lines');
    } finally {
      server.close();
    }
  });
});
