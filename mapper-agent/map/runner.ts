/**
 * Runs map syncs with the bookkeeping around them (status file, metrics, logs), one at a time,
 * and — as the daemon — decides when to run: whenever the suffix's contextCSN differs from the one
 * the current map was built from (checked every few seconds, one tiny base read), plus a full
 * regeneration on a slower cron schedule in case a change signal was missed.
 */
import { schedule, type ScheduledTask } from 'node-cron';
import type { LdapConnection } from '../../core/ldap/connection.js';
import { readContextCsn } from '../../core/directory/change-signal.js';
import type { Logger } from '../../core/log.js';
import type { AgentSection } from '../config.js';
import type { AgentMetrics } from '../metrics.js';
import { readStatus, writeStatus } from '../status.js';
import { syncMap, type SyncOptions, type SyncOutcome } from './sync.js';
import { ShrinkRefusedError } from './atomic-write.js';

export class MapSyncRunner {
  private running: Promise<SyncOutcome> | undefined;
  /** the last failure logged: the same failure again (the daemon retries every few seconds) is not logged again */
  private lastFailure: string | undefined;

  constructor(
    private readonly ldap: LdapConnection,
    private readonly baseDn: string,
    private readonly agent: AgentSection,
    private readonly log: Logger,
    private readonly metrics?: AgentMetrics,
  ) {}

  /** The contextCSN the last successful sync was built from. */
  get builtFrom(): string | undefined {
    return readStatus(this.agent.stateDir).contextCsn;
  }

  /** One sync; concurrent callers share the sync already under way. */
  run(options: SyncOptions = {}): Promise<SyncOutcome> {
    this.running ??= this.runOnce(options).finally(() => (this.running = undefined));
    return this.running;
  }

  private async runOnce(options: SyncOptions): Promise<SyncOutcome> {
    const status = readStatus(this.agent.stateDir);
    const attempt = new Date().toISOString();
    try {
      const outcome = await syncMap(this.ldap, this.baseDn, this.agent, options);
      if (options.dryRun) return outcome;
      const changed = outcome.outputs.filter((o) => o.changed).map((o) => o.path);
      writeStatus(this.agent.stateDir, {
        ...status, lastAttempt: attempt, lastSuccess: new Date().toISOString(), lines: outcome.lines,
        durationMs: Math.round(outcome.durationMs), contextCsn: outcome.contextCsn, skipped: outcome.skipped, consecutiveFailures: 0,
      });
      if (this.lastFailure) this.log.info({ after: this.lastFailure }, 'map sync works again');
      this.lastFailure = undefined;
      this.metrics?.shrinkRefused.set(0);
      this.metrics?.syncs.inc({ result: changed.length ? 'written' : 'unchanged' });
      this.metrics?.lastSuccess.set(Date.now() / 1000);
      this.metrics?.lines.set(outcome.lines);
      this.metrics?.duration.set(outcome.durationMs / 1000);
      this.log.info({ lines: outcome.lines, changed, durationMs: Math.round(outcome.durationMs), skipped: outcome.skipped }, changed.length ? 'map written' : 'map unchanged');
      for (const problem of outcome.problems.slice(0, 50)) this.log.warn({ problem }, 'identity left out of the map');
      if (outcome.problems.length > 50) this.log.warn({ more: outcome.problems.length - 50 }, 'more identities left out');
      return outcome;
    } catch (err) {
      if (!options.dryRun) {
        writeStatus(this.agent.stateDir, { ...status, lastAttempt: attempt, lastError: (err as Error).message, lastErrorAt: attempt, consecutiveFailures: status.consecutiveFailures + 1 });
      }
      this.metrics?.failures.inc();
      this.metrics?.syncs.inc({ result: 'failed' });
      if (err instanceof ShrinkRefusedError) this.metrics?.shrinkRefused.set(1);
      const message = (err as Error).message;
      // One error per change of state, not one every few seconds while it lasts.
      if (message !== this.lastFailure) this.log.error({ err: message }, 'map sync failed; the previous map stays in place');
      else this.log.debug({ err: message }, 'map sync still failing');
      this.lastFailure = message;
      throw err;
    }
  }
}

export class MapDaemon {
  private tasks: ScheduledTask[] = [];

  constructor(
    private readonly runner: MapSyncRunner,
    private readonly ldap: LdapConnection,
    private readonly baseDn: string,
    private readonly agent: AgentSection,
    private readonly log: Logger,
    private readonly metrics?: AgentMetrics,
  ) {}

  start(): void {
    this.tasks.push(schedule(this.checkExpression(), () => void this.checkForChange(), { noOverlap: true }));
    this.tasks.push(schedule(this.agent.fullSyncSchedule, () => void this.runner.run().catch(() => undefined), { noOverlap: true }));
    this.log.info({ checkEverySeconds: this.agent.checkIntervalSeconds, fullSync: this.agent.fullSyncSchedule }, 'map daemon started');
    void this.checkForChange();
  }

  /**
   * An agent that only ingests (syncEnabled false) still reports how stale its directory server is:
   * its embargo decisions come from that server (a consumer at a second site), so the staleness
   * alert of docs/replication.md must work there too.
   */
  startStalenessOnly(): void {
    this.tasks.push(schedule(this.checkExpression(), () => void this.observeStaleness(), { noOverlap: true }));
    void this.observeStaleness();
  }

  /** Read the contextCSN and record its age; undefined when the server does not answer. */
  async observeStaleness(): Promise<string | undefined> {
    this.metrics?.checks.inc();
    try {
      const csn = await readContextCsn(this.ldap, this.baseDn);
      this.metrics?.observeContextCsn(csn); // staleness: how old the newest change this server holds is
      return csn;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'contextCSN check failed');
      return undefined;
    }
  }

  private checkExpression(): string {
    const every = this.agent.checkIntervalSeconds;
    return every < 60 ? `*/${every} * * * * *` : `0 */${Math.max(1, Math.round(every / 60))} * * * *`;
  }

  /** Sync when the directory changed since the map was built. Returns whether it synced. */
  async checkForChange(): Promise<boolean> {
    const csn = await this.observeStaleness();
    if (csn === undefined) return false; // keeping the current map
    if (csn === this.runner.builtFrom) return false;
    await this.runner.run().catch(() => undefined);
    return true;
  }

  async stop(): Promise<void> {
    for (const t of this.tasks) await t.stop();
    this.tasks = [];
  }
}
