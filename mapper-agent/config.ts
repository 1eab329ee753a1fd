/**
 * The agent's configuration (`agent:` section, CG_AGENT__* environment), validated once at start-up.
 * LDAP comes from core/ldap/config.ts (the agent binds with its read-only service account).
 */
import { z } from 'zod';
import { envBoolean, envList } from '../core/config.js';
import { directoryConfigSchema } from '../core/ldap/config.js';
import { rucioConfigSchema } from './rucio/config.js';
import { tracesConfigSchema } from './traces/config.js';
import { reportConfigSchema } from './ingest/publish-config.js';
import { classificationSchema, modesSchema } from '../core/embargo/rules.js';
import { fileModeSchema } from '../core/file-mode.js';
import { validCron } from './cron-expression.js';
import { DEFAULT_WORKERS } from './ingest/default-workers.js';

/** A node-cron expression, checked at load (not when the daemon first schedules it). */
const cronSchedule = (fallback: string) =>
  z.string().refine((v) => validCron(v), { message: 'not a cron expression (node-cron: [second] minute hour day-of-month month day-of-week)' }).default(fallback);

export const ingestSectionSchema = z.object({
  /** Data roots on the namespace mount (absolute). Nothing outside them is ever changed. */
  roots: envList(z.string().startsWith('/', 'data roots must be absolute paths')).default([]),
  classification: classificationSchema.prefault({}),
  modes: modesSchema,
  batchSize: z.coerce.number().int().min(1).max(4096).default(256),
  /**
   * Embargo lifting and re-embargo decide from a file's header seal (what its header said when the
   * agent last changed it, journaled with the file's status) while the file is provably unchanged,
   * instead of reading the header again; false: every header is read again (docs/ingest.md#header-seals).
   */
  sealedHeaders: envBoolean.default(true),
  /** Worker threads for `ingest` (directories are handed out one at a time); 1 = in the main thread. */
  workers: z.coerce.number().int().min(1).max(16).default(DEFAULT_WORKERS),
  /** watch: a file is ingested once it has not changed for this long (instruments write slowly). */
  settleMs: z.coerce.number().int().min(0).default(2000),
  /**
   * Directories (absolute, under the roots) whose files with a public name (previews, metadata) are
   * public without a FITS product beside them. Elsewhere a public name counts only for a sidecar of
   * a campaign's FITS file (docs/ingest.md).
   */
  publicAreas: envList(z.string().startsWith('/', 'public areas must be absolute paths')).default([]),
  /** Largest difference, in seconds, between this host's clock and the directory server's before embargo decisions are refused. */
  maxClockSkewSeconds: z.coerce.number().min(0).max(86400).default(300),
  /** node-cron schedules of reconciliation in the daemon: an incremental pass (files changed since the last pass) and a full one. */
  reconcileSchedule: z.string().default('*/5 * * * *'),
  fullReconcileSchedule: z.string().default('30 3 * * *'),
  /**
   * An incremental pass looks again at files whose ctime is up to this much older than the start of
   * the last completed pass (NFS attribute caches, other writers' clocks).
   */
  reconcileMarginSeconds: z.coerce.number().int().min(0).max(86400).default(300),
  /** watch: when the kernel cannot watch the tree (inotify limits), scan it for changed files this often instead. */
  scanFallbackSeconds: z.coerce.number().int().min(5).max(86400).default(60),
  /** node-cron schedule for embargo lifting in the daemon. */
  embargoSchedule: cronSchedule('5 * * * *'),
  /** Notify the PI this many days before the embargo ends (0 = never). */
  noticeDays: z.coerce.number().int().min(0).default(14),
  /** SMTP for notices (nodemailer URL, e.g. smtp://mail.example.org:25); empty = notices are only logged. */
  smtpUrl: z.string().default(''),
  noticeFrom: z.string().default('campaign-guard@localhost'),
  /** The registration portal's public URL: notices link the campaign page, where a PI asks for an extension. Empty = no link. */
  portalUrl: z.union([z.literal(''), z.string().url()]).default(''),
  /** Admins who get the daily digest of quarantined files (comma-separated from the environment). */
  adminMail: envList(z.string().email()).default([]),
  /** node-cron schedule of that digest in the daemon. */
  digestSchedule: z.string().default('0 7 * * *'),
});
export type IngestSection = z.infer<typeof ingestSectionSchema>;

export const agentSectionSchema = z.object({
  /** Where the agent keeps its state: sync status, ingest journal. */
  stateDir: z.string().default('var/agent'),
  multimapPath: z.string().default('var/agent/multi-mapfile'),
  /** Optional classic grid-mapfile ("DN" user) for XRootD/Globus; empty = not written. */
  gridMapfilePath: z.string().default(''),
  /** Optional JSON snapshot of the map; empty = not written. */
  jsonSnapshotPath: z.string().default(''),
  /** OIDC issuer URL -> gPlazma provider alias (gplazma.oidc.provider!ALIAS). */
  oidcAliases: z.record(z.string().url(), z.string().regex(/^[A-Za-z0-9._-]+$/)).default({}),
  /**
   * Owner (uid), group (gid) and mode ('0640') of the map files; what is not set is kept from the
   * file being replaced. dCache must be able to read the map: e.g. { gid: <dcache's gid>, mode: '0640' }.
   */
  mapFileOwnership: z
    .object({ uid: z.coerce.number().int().min(0).optional(), gid: z.coerce.number().int().min(0).optional(), mode: fileModeSchema.optional() })
    .strict()
    .default({}),
  /** dCache's configuration files and layout directories (doctor reads the OIDC provider lines from them when readable). */
  dcacheConfigFiles: envList(z.string()).default(['/etc/dcache/dcache.conf', '/etc/dcache/layouts']),
  /** The account dCache runs as on this host (doctor checks that it can read the map). */
  dcacheUser: z.string().regex(/^[A-Za-z0-9._-]+$/).default('dcache'),
  /** Largest fraction of map lines one sync may drop without --force. */
  maxShrinkFraction: z.coerce.number().min(0).max(1).default(0.1),
  /** LDAP page size for the map read. */
  pageSize: z.coerce.number().int().min(1).max(10000).default(1000),
  /** Seconds between contextCSN checks in the daemon. */
  checkIntervalSeconds: z.coerce.number().int().min(1).max(3600).default(2),
  /** node-cron expression for a full regeneration regardless of contextCSN. */
  fullSyncSchedule: cronSchedule('*/15 * * * *'),
  /** /ready answers 503 when the last successful sync is older than this (seconds). */
  readyMaxAgeSeconds: z.coerce.number().int().min(10).default(3600),
  /** Optional Prometheus metrics (and /health, /ready) on 127.0.0.1:<port>; 0 = off. */
  metricsPort: z.coerce.number().int().min(0).max(65535).default(0),
  syncEnabled: envBoolean.default(true),
  ingest: ingestSectionSchema.prefault({}),
  rucio: rucioConfigSchema.default({ enabled: false, scope: '{campaign}', dataset: '', pfnPrefixes: {}, timeoutMs: 10_000 }),
  /** Signed traces of every applied decision (docs/traces.md); off by default. */
  traces: tracesConfigSchema.prefault({}),
  /** Publishing the compliance report to the portal, signed (docs/compliance.md); off by default. */
  report: reportConfigSchema.prefault({}),
});

export const agentConfigSchema = directoryConfigSchema.extend({
  agent: agentSectionSchema.prefault({}),
});

export type AgentSection = z.infer<typeof agentSectionSchema>;
export type AgentConfig = z.infer<typeof agentConfigSchema>;
