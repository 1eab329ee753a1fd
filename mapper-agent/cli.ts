#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * mapper-agent: keeps a storage node's dCache gPlazma map in step with LDAP, applies campaign
 * ownership to ingested files and lifts embargoes. `mapper-agent --help` lists the commands.
 */
import { Command, Option } from 'commander';
import { CampaignGuardError, ConfigError, DirectoryUnavailableError } from '../core/errors.js';
import { lazyLogger } from '../core/log.js';
import type { LdapConnection } from '../core/ldap/connection.js';
import type { AgentConfig } from './config.js';
import { EXIT, EXIT_HELP } from './exit-codes.js';
import type { ShrinkRefusedError } from './map/atomic-write.js';
import type { ClockRefusedError } from './clock.js';
import { packageVersion } from '../core/version.js';
import { count } from '../core/plural.js';
import { DEFAULT_WORKERS } from './ingest/default-workers.js';
import type { WorkerPool } from './ingest/pool.js';

// Each command loads its modules when it runs: the map sync should not carry the ingest side
// (SQLite, mail, Rucio, progress bars) in its memory, and --help loads neither the configuration
// schemas (zod), the YAML parser, LDAP nor the logger. Only what is cheap to load is imported above.
const map = () => import('./map/runner.js');
const ingest = () => import('./ingest/commands.js');
const traces = () => import('./traces/commands.js');
const connectModule = () => import('./connect.js');
const status = () => import('./status.js');

/** Start loading a command's modules now (while the configuration is read); awaited later, its failure is reported then. */
function prefetch<T>(load: () => Promise<T>): Promise<T> {
  const loading = load();
  loading.catch(() => undefined);
  return loading;
}

/**
 * ingest and embargo: their worker pool (ingest/pool.ts), started before the configuration is read
 * when the options allow pooling, so that the workers load their modules during the main thread's
 * start; the command uses it when the configuration agrees (as many workers, no traces nor Rucio)
 * and terminates it otherwise. Without --workers, as many as agent.ingest.workers' default.
 */
function earlyPool(workers: number | undefined, allowed: boolean): Promise<WorkerPool | undefined> {
  const n = workers ?? DEFAULT_WORKERS;
  if (!allowed || n < 2) return Promise.resolve(undefined);
  return import('./ingest/pool.js').then(({ startPool }) => startPool(n), () => undefined); // the command starts its own (and reports why not)
}

/** Run a command with the pool started for it (awaited by the command, once its configuration is read); terminated when the command never took it (a configuration error, ...). */
async function withPool(pool: Promise<WorkerPool | undefined>, run: (pool: () => Promise<{ pool?: WorkerPool }>) => Promise<void>): Promise<void> {
  try {
    await run(async () => {
      const p = await pool;
      return p ? { pool: p } : {};
    });
  } finally {
    await (await pool)?.terminate();
  }
}

// pino is loaded on the first line logged.
const log = lazyLogger('mapper-agent');

// The safety refusals by their stable codes: their classes live in modules that --help need not load.
const REFUSALS: ReadonlySet<string> = new Set<(ShrinkRefusedError | ClockRefusedError)['code']>(['ERR_SHRINK_REFUSED', 'ERR_CLOCK_REFUSED']);

export function exitCodeFor(err: unknown): number {
  if (err instanceof CampaignGuardError && REFUSALS.has(err.code)) return EXIT.REFUSED;
  if (err instanceof DirectoryUnavailableError) return EXIT.DIRECTORY_UNAVAILABLE;
  if (err instanceof ConfigError) return EXIT.CONFIG;
  return EXIT.ERROR;
}

async function config(program: Command): Promise<AgentConfig> {
  const [{ loadConfig }, { agentConfigSchema }] = await Promise.all([import('../core/config.js'), import('./config.js')]);
  return loadConfig(agentConfigSchema, { file: program.opts<{ config?: string }>().config });
}

async function connect(cfg: AgentConfig): Promise<LdapConnection> {
  const { connectAgent } = await connectModule();
  return connectAgent(cfg);
}

/** Load the configuration, connect to LDAP, run, and always close the connection. */
async function withAgent(program: Command, run: (cfg: AgentConfig, ldap: LdapConnection) => Promise<void>): Promise<void> {
  const cfg = await config(program);
  const ldap = await connect(cfg);
  ldap.warmUp(); // connect and bind while the command's modules finish loading
  try {
    await run(cfg, ldap);
  } finally {
    await ldap.close();
  }
}

export function buildProgram(): Command {
  const program = new Command('mapper-agent')
    .version(packageVersion())
    .description('Keep dCache gPlazma maps in step with LDAP, apply campaign ownership to ingested files, lift embargoes.')
    .addOption(new Option('-c, --config <file>', 'configuration file (YAML); CG_* environment variables override it').env('CG_CONFIG'))
    .addHelpText('after', `\n${EXIT_HELP}`)
    .showHelpAfterError();

  // Once a command is chosen, its modules load while the configuration is read and validated.
  const modulesOf: Record<string, Array<() => Promise<unknown>>> = {
    sync: [map, connectModule], doctor: [connectModule], run: [map, ingest, connectModule],
    ingest: [ingest, connectModule], watch: [ingest, connectModule], verify: [ingest, connectModule],
    report: [ingest, connectModule], reconcile: [ingest, connectModule], embargo: [ingest, connectModule],
  };
  program.hook('preAction', (_program, command) => {
    if (command.parent === program) for (const load of modulesOf[command.name()] ?? []) prefetch(load);
  });

  program
    .command('sync')
    .description('regenerate the multimap (and grid-mapfile/JSON snapshot if configured) from LDAP once')
    .option('-n, --dry-run', 'write nothing; print what would change')
    .option('-f, --force', 'write even when the map shrinks beyond agent.maxShrinkFraction')
    .action((opts: { dryRun?: boolean; force?: boolean }) =>
      withAgent(program, async (cfg, ldap) => {
        const { MapSyncRunner } = await map();
        const outcome = await new MapSyncRunner(ldap, cfg.ldap.baseDn, cfg.agent, log).run({ dryRun: !!opts.dryRun, force: !!opts.force });
        for (const o of outcome.outputs) {
          if (opts.dryRun) console.log(`${o.path}: ${o.changed ? `would change (${o.oldLines} -> ${o.newLines} lines)` : 'unchanged'}${o.refused ? `; a real sync would refuse: ${o.refused}` : ''}${o.diff ? `\n${o.diff}` : ''}`);
          else console.log(`${o.path}: ${o.changed ? 'written' : 'unchanged'}, ${count(o.newLines, 'line')}`);
        }
        if (outcome.problems.length) console.log(`${count(outcome.problems.length, 'identity', 'identities')} left out (see the log):\n  ${outcome.problems.slice(0, 20).join('\n  ')}`);
      }),
    );

  program
    .command('status')
    .description('show the last sync: when, how many lines, the last error')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const [cfg, { readStatus }] = await Promise.all([config(program), status()]);
      const s = readStatus(cfg.agent.stateDir);
      // The same exit code with and without --json: 3 while syncs fail.
      if (s.consecutiveFailures > 0) process.exitCode = EXIT.DIRECTORY_UNAVAILABLE;
      if (opts.json) return console.log(JSON.stringify(s, null, 2));
      console.log(`last success:  ${s.lastSuccess ?? 'never'}`);
      console.log(`lines:         ${s.lines ?? '-'}`);
      console.log(`duration:      ${s.durationMs ?? '-'} ms`);
      console.log(`built from:    contextCSN ${s.contextCsn ?? '-'}`);
      if (s.lastError) console.log(`last error:    ${s.lastErrorAt} ${s.lastError}`);
      console.log(`failures in a row: ${s.consecutiveFailures}`);
    });

  program
    .command('doctor')
    .description("check this node's set-up: the dCache user can read the map, the clock agrees with the directory server's")
    .action(() =>
      withAgent(program, async (cfg, ldap) => {
        const { runDoctor } = await import('./doctor.js');
        const findings = await runDoctor(cfg, ldap);
        for (const f of findings) console.log(`${f.ok ? 'ok  ' : 'FAIL'} ${f.check}: ${f.detail}`);
        if (findings.some((f) => !f.ok)) process.exitCode = EXIT.ATTENTION;
      }),
    );

  // Human progress lines carry the time (UTC, to the second): a watch or a long run is read later.
  // Structured output (report --format json|csv) is printed bare.
  const stamped = (line: string) => console.log(`${new Date().toISOString().slice(0, 19)}Z ${line}`);
  const ingestCtx = (cfg: AgentConfig, ldap: LdapConnection, out: (line: string) => void = stamped) => ({ cfg, ldap, log, out });
  const attention = (r: { quarantined?: number; refused: number; left?: number }) => {
    if ((r.quarantined ?? 0) + r.refused > 0) process.exitCode = EXIT.ATTENTION;
  };

  program
    .command('ingest')
    .description('apply campaign ownership and embargo modes to files (and directory trees) from their FITS headers')
    .argument('<paths...>', 'files or directories under agent.ingest.roots')
    .option('-n, --dry-run', 'change nothing; print exactly what would change')
    .option('-v, --verbose', 'print every change made')
    .option('-w, --workers <n>', 'worker threads (default agent.ingest.workers)', (v) => Number.parseInt(v, 10))
    .action((paths: string[], opts: { dryRun?: boolean; verbose?: boolean; workers?: number }) =>
      withPool(earlyPool(opts.workers, !opts.dryRun && !opts.verbose), (pool) =>
        withAgent(program, async (cfg, ldap) => {
          const [{ ingestCommand }, started] = await Promise.all([ingest(), pool()]);
          attention(await ingestCommand({ ...ingestCtx(cfg, ldap), ...started }, paths, { dryRun: !!opts.dryRun, verbose: !!opts.verbose, ...(opts.workers ? { workers: opts.workers } : {}) }));
        }),
      ),
    );

  program
    .command('watch')
    .description('ingest a directory now and then every new or changed file once it has settled')
    .argument('<dir>', 'directory under agent.ingest.roots')
    .action(async (dir: string) => {
      const cfg = await config(program);
      const ldap = await connect(cfg);
      const stop = new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
      });
      const { watchCommand } = await ingest();
      await watchCommand(ingestCtx(cfg, ldap), dir, stop);
      await ldap.close();
    });

  program
    .command('verify')
    .description('report every file whose owner, group or mode differs from policy (drift)')
    .argument('<root>', 'directory under agent.ingest.roots')
    .option('--fix', 'repair the drift (journaled)')
    .action((root: string, opts: { fix?: boolean }) =>
      withAgent(program, async (cfg, ldap) => {
        const { verifyCommand } = await ingest();
        const r = await verifyCommand(ingestCtx(cfg, ldap), root, { fix: !!opts.fix });
        if (r.changed + r.quarantined + r.refused > 0) process.exitCode = EXIT.ATTENTION;
      }),
    );

  program
    .command('report')
    .description('embargo compliance per campaign: files under embargo, public, drifted (read-only walk), releases and re-embargoes (journal)')
    .addOption(new Option('--format <format>', 'output').choices(['text', 'json', 'csv']).default('text'))
    .option('--publish', 'also send it to the portal (agent.report.publishUrl), one document per campaign signed with the trace-signing host certificate')
    .action((opts: { format: 'text' | 'json' | 'csv'; publish?: boolean }) =>
      withAgent(program, async (cfg, ldap) => {
        const { reportCommand } = await ingest();
        const r = await reportCommand(ingestCtx(cfg, ldap, (line) => console.log(line)), { format: opts.format, publish: !!opts.publish });
        if (r.quarantined > 0 || r.campaigns.some((c) => c.drift > 0)) process.exitCode = EXIT.ATTENTION;
      }),
    );

  program
    .command('reconcile')
    .description('look at every file under the data roots changed since the last completed pass (--full: every file), and apply policy: catches what no event announced')
    .option('--full', 'look at every file, not only those changed since the last completed pass')
    .option('-n, --dry-run', 'change nothing; print what would change')
    .action((opts: { full?: boolean; dryRun?: boolean }) =>
      withAgent(program, async (cfg, ldap) => {
        const { reconcileCommand } = await ingest();
        attention(await reconcileCommand(ingestCtx(cfg, ldap), { full: !!opts.full, dryRun: !!opts.dryRun }));
      }),
    );

  program
    .command('embargo')
    .description('make the files of campaigns whose embargo ended world-readable; notify PIs of embargoes ending soon')
    .option('-n, --dry-run', 'change nothing; print what would change')
    .option('-v, --verbose', 'print every file opened')
    .option('-w, --workers <n>', 'worker threads (default agent.ingest.workers)', (v) => Number.parseInt(v, 10))
    .action((opts: { dryRun?: boolean; verbose?: boolean; workers?: number }) =>
      withPool(earlyPool(opts.workers, true), (pool) =>
        withAgent(program, async (cfg, ldap) => {
          const [{ embargoCommand }, started] = await Promise.all([ingest(), pool()]);
          attention(await embargoCommand({ ...ingestCtx(cfg, ldap), ...started }, { dryRun: !!opts.dryRun, verbose: !!opts.verbose, ...(opts.workers ? { workers: opts.workers } : {}) }));
        }),
      ),
    );

  const group = program
    .command('traces')
    .description('signed traces of every ownership/mode decision applied (agent.traces; docs/traces.md)');
  const list = (v: string, prev: string[] = []) => [...prev, v];
  group
    .command('verify')
    .description("check the hash chain, every batch's Merkle root and inclusion proofs, every CMS signature, and the signer's chain and revocation against the trust directory; exit 1 on any problem")
    .option('--ca <path>', 'trust anchors: IGTF directory or PEM file (repeatable; default agent.traces.caPaths)', list)
    .option('--crl <path>', 'CRLs: IGTF directory or PEM file (repeatable; default agent.traces.crlPaths, else the CA paths)', list)
    .addOption(new Option('--crl-mode <mode>', 'require a valid CRL of every CA on the path, or check one if present').choices(['require', 'if-present']))
    .option('--json', 'machine-readable report')
    .action(async (opts: { ca?: string[]; crl?: string[]; crlMode?: 'require' | 'if-present'; json?: boolean }) => {
      const { tracesVerify } = await traces();
      const r = await tracesVerify(await config(program), (l) => console.log(l), { ...(opts.ca ? { caPaths: opts.ca } : {}), ...(opts.crl ? { crlPaths: opts.crl } : {}), ...(opts.crlMode ? { crlMode: opts.crlMode } : {}), json: !!opts.json });
      if (!r.ok) process.exitCode = EXIT.ERROR;
    });
  group
    .command('export')
    .description('every batch and trace as JSON Lines (a batch line, then its traces with their inclusion proofs)')
    .action(async () => {
      const { tracesExport } = await traces();
      tracesExport(await config(program), (l) => process.stdout.write(l + '\n'));
    });
  group
    .command('find')
    .description('traces of a file: by a content hash (SHA-256, SHA3-256, Adler-32) or record hash, or by path / base name; JSON Lines')
    .option('--hash <hex>', 'content or record hash')
    .option('--name <name>', 'full path, or base name')
    .action(async (opts: { hash?: string; name?: string }) => {
      const { tracesFind } = await traces();
      if (!tracesFind(await config(program), (l) => console.log(l), opts)) process.exitCode = EXIT.ERROR;
    });
  group
    .command('show')
    .description('one trace as its export line (input for `traces inclusion`)')
    .argument('<seq>', 'record number', (v) => Number.parseInt(v, 10))
    .action(async (seq: number) => {
      const { tracesShow } = await traces();
      tracesShow(await config(program), (l) => console.log(l), seq);
    });
  group
    .command('export-batch')
    .description('write batch-<id>.p7s (CMS SignedData, DER) and batch-<id>.root (32-byte Merkle root) for openssl cms -verify')
    .argument('<id>', 'batch number', (v) => Number.parseInt(v, 10))
    .argument('<dir>', 'output directory')
    .action(async (id: number, dir: string) => {
      const { tracesExportBatch } = await traces();
      tracesExportBatch(await config(program), (l) => console.log(l), id, dir);
    });
  group
    .command('inclusion')
    .description("check exported trace lines: each record hashes to its hash and its proof leads to its batch root (and to --root, the root checked with openssl); needs no configuration")
    .argument('[file]', 'JSON Lines from `traces export`, `find` or `show` (default: standard input)')
    .option('--root <file>', 'the batch root (32 raw bytes or 64 hex digits) whose signature openssl verified')
    .action(async (file: string | undefined, opts: { root?: string }) => {
      const { tracesInclusion } = await traces();
      const { readFileSync } = await import('node:fs');
      const text = readFileSync(file ?? 0, 'utf8');
      if (!tracesInclusion(text, (l) => console.log(l), opts)) process.exitCode = EXIT.ERROR;
    });

  program
    .command('run')
    .description('daemon: map sync within seconds of every directory change (contextCSN) and fully on a schedule; with data roots, embargo enforcement and reconciliation passes on their schedules (agent.ingest.embargoSchedule, reconcileSchedule, fullReconcileSchedule), and the signed compliance report to the portal (agent.report.publishSchedule)')
    .action(async () => {
      const cfg = await config(program);
      const ldap = await connect(cfg);
      const [{ MapDaemon, MapSyncRunner }, { embargoCommand, reconcileCommand, digestCommand, reportCommand }, { AgentMetrics }, { schedule }, { readStatus }] = await Promise.all([map(), ingest(), import('./metrics.js'), import('node-cron'), status()]);
      const metrics = new AgentMetrics();
      metrics.restore(readStatus(cfg.agent.stateDir));
      if (cfg.agent.metricsPort) {
        await metrics.serve(cfg.agent.metricsPort, '127.0.0.1', () => readStatus(cfg.agent.stateDir), cfg.agent.readyMaxAgeSeconds);
        log.info({ url: `http://127.0.0.1:${cfg.agent.metricsPort}/metrics` }, 'metrics served');
      }
      const runner = new MapSyncRunner(ldap, cfg.ldap.baseDn, cfg.agent, log, metrics);
      const daemon = new MapDaemon(runner, ldap, cfg.ldap.baseDn, cfg.agent, log, metrics);
      if (cfg.agent.syncEnabled) daemon.start();
      else daemon.startStalenessOnly();
      // With data roots: embargo enforcement and reconciliation passes on their schedules (each never overlaps itself).
      const ctx = { ...ingestCtx(cfg, ldap), metrics };
      const onSchedule = (expr: string, what: string, job: () => Promise<unknown>) =>
        schedule(expr, () => void job().catch((err: Error) => log.error({ err: err.message }, `${what} failed; will run again on schedule`)), { noOverlap: true });
      const ingestTasks = cfg.agent.ingest.roots.length
        ? [
            onSchedule(cfg.agent.ingest.embargoSchedule, 'embargo enforcement', () => embargoCommand(ctx, { dryRun: false })),
            onSchedule(cfg.agent.ingest.reconcileSchedule, 'reconciliation pass', () => reconcileCommand(ctx, { full: false })),
            onSchedule(cfg.agent.ingest.fullReconcileSchedule, 'full reconciliation pass', () => reconcileCommand(ctx, { full: true })),
            onSchedule(cfg.agent.ingest.digestSchedule, 'quarantine digest', () => digestCommand(ctx)),
            // The compliance report, signed, to the portal (agent.report.publishSchedule; off when empty).
            ...(cfg.agent.report.publishSchedule
              ? [onSchedule(cfg.agent.report.publishSchedule, 'compliance report publication', () => reportCommand({ ...ctx, out: undefined }, { format: 'text', publish: true }))]
              : []),
          ]
        : [];
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
      });
      await daemon.stop();
      for (const task of ingestTasks) await task.stop();
      await ldap.close();
      process.exit(EXIT.OK);
    });

  return program;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('mapper-agent/cli.ts')) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      console.error(`mapper-agent: ${(err as Error).message}`);
      process.exit(exitCodeFor(err));
    });
}
