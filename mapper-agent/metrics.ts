/** Prometheus metrics for the agent, served on 127.0.0.1:<agent.metricsPort>/metrics when enabled. */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SyncStatus } from './status.js';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly lastSuccess = new Gauge({ name: 'cg_map_last_success_timestamp_seconds', help: 'Unix time of the last successful map sync', registers: [this.registry] });
  readonly lines = new Gauge({ name: 'cg_map_lines', help: 'Lines in the multimap after the last successful sync', registers: [this.registry] });
  readonly duration = new Gauge({ name: 'cg_map_sync_duration_seconds', help: 'Duration of the last successful sync', registers: [this.registry] });
  readonly syncs = new Counter({ name: 'cg_map_syncs_total', help: 'Map syncs by result', labelNames: ['result'] as const, registers: [this.registry] });
  readonly failures = new Counter({ name: 'cg_map_sync_failures_total', help: 'Failed map syncs', registers: [this.registry] });
  readonly clockSkew = new Gauge({ name: 'cg_clock_skew_seconds', help: "This host's clock minus the directory server's, at the last check (positive: ahead)", registers: [this.registry] });
  readonly clockRefusals = new Counter({ name: 'cg_clock_refusals_total', help: 'Embargo decisions refused or held because the clock could not be checked or was skewed', registers: [this.registry] });
  readonly ingestLatency = new Histogram({
    name: 'cg_ingest_latency_seconds', help: "From a file's last change (mtime) to the agent applying its policy: bounded by the reconciliation interval even when no event arrives",
    buckets: [1, 5, 15, 60, 300, 900, 3600, 21600, 86400], registers: [this.registry],
  });
  readonly shrinkRefused = new Gauge({ name: 'cg_map_shrink_refused', help: '1 while the shrink guard refuses the new map (lines disappeared that the directory does not explain)', registers: [this.registry] });
  readonly checks = new Counter({ name: 'cg_map_change_checks_total', help: 'contextCSN checks', registers: [this.registry] });
  /** Time of the newest change the directory server read from holds (from its contextCSN), 0 = never read. */
  lastDirectoryChangeMs = 0;
  readonly lastChange = new Gauge({
    name: 'cg_directory_last_change_timestamp_seconds', help: "Unix time of the newest change held by the directory server the agent reads (its contextCSN): on a replication consumer, the last replicated change",
    registers: [this.registry],
  });
  readonly staleness = new Gauge({
    name: 'cg_directory_staleness_seconds', help: "Seconds since the last change the directory server the agent reads received (now minus its contextCSN time); on a consumer cut off from its provider it only grows. Alert on it where the provider writes at least a heartbeat (docs/replication.md)",
    registers: [this.registry],
  });

  /** Record the directory's contextCSN (each value is one server's newest change; the newest counts). */
  observeContextCsn(csn: string, now = Date.now()): void {
    const newest = Math.max(0, ...csn.split(' ').map(csnTimeMs).filter((t): t is number => t !== undefined));
    if (!newest) return;
    this.lastDirectoryChangeMs = newest;
    this.lastChange.set(newest / 1000);
    this.staleness.set(Math.max(0, (now - newest) / 1000));
  }

  /** Staleness right now (seconds), or undefined before the first contextCSN. */
  stalenessSeconds(now = Date.now()): number | undefined {
    return this.lastDirectoryChangeMs ? Math.max(0, (now - this.lastDirectoryChangeMs) / 1000) : undefined;
  }

  private refresh(): void {
    const age = this.stalenessSeconds();
    if (age !== undefined) this.staleness.set(age);
  }

  /** After a restart: the last successful sync as the status file recorded it, not "never, 0 lines". */
  restore(status: SyncStatus): void {
    if (status.lastSuccess) this.lastSuccess.set(Date.parse(status.lastSuccess) / 1000);
    if (status.lines !== undefined) this.lines.set(status.lines);
    if (status.durationMs !== undefined) this.duration.set(status.durationMs / 1000);
  }

  /**
   * /metrics for Prometheus; /health (liveness: the agent answers) and /ready (the last sync
   * succeeded and is younger than readyMaxAgeSeconds) for the service manager or a load balancer.
   */
  serve(port: number, host = '127.0.0.1', status?: () => SyncStatus, readyMaxAgeSeconds = 3600): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url === '/health') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
      if (req.url === '/ready' && status) {
        const s = status();
        const age = s.lastSuccess ? (Date.now() - Date.parse(s.lastSuccess)) / 1000 : Infinity;
        const ready = s.consecutiveFailures === 0 && age <= readyMaxAgeSeconds;
        return void res.writeHead(ready ? 200 : 503, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ status: ready ? 'ready' : 'not ready', lastSuccess: s.lastSuccess ?? null, consecutiveFailures: s.consecutiveFailures, lastError: s.lastError ?? null }));
      }
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.refresh();
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(body),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve(server));
    });
  }
}

/** The time in a CSN (`20261201220000.123456Z#000000#000#000000`), ms since the epoch. */
export function csnTimeMs(csn: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,6}))?Z#/.exec(csn.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se, frac] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se), frac ? Math.floor(Number(frac.padEnd(6, '0')) / 1000) : 0);
}
