import { validCron } from '../cron-expression.js';
import { z } from 'zod';

/**
 * agent.report: publishing the compliance report to the portal (docs/compliance.md). Off while
 * publishUrl is empty. The documents are signed with the trace-signing host certificate and key
 * (agent.traces.certFile, keyFile), which the portal must trust and list in
 * portal.complianceReports.agentHosts.
 */
export const reportConfigSchema = z
  .object({
    /** The portal's receiving URL, e.g. https://portal.example.org/api/compliance-reports; empty = no publishing. */
    publishUrl: z.union([z.literal(''), z.string().url().refine((u) => u.startsWith('https://'), 'the report goes to the portal over HTTPS only')]).default(''),
    /** A site label shown beside the host on the portal (e.g. "KIS Freiburg"). */
    site: z.string().max(100).default(''),
    /** CA certificates (PEM file) for the portal's server certificate; empty = the system's. */
    caFile: z.string().default(''),
    /** node-cron schedule on which the daemon computes and publishes the report; empty = only `report --publish`. */
    publishSchedule: z.string().refine((v) => v === '' || validCron(v), { message: 'not a cron expression (node-cron: [second] minute hour day-of-month month day-of-week)' }).default(''),
    timeoutMs: z.coerce.number().int().positive().max(600_000).default(30_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.publishSchedule && !c.publishUrl) ctx.addIssue({ code: 'custom', path: ['publishSchedule'], message: 'set publishUrl too: the schedule publishes there' });
  });

export type ReportConfig = z.infer<typeof reportConfigSchema>;
