/**
 * The signed compliance report, as the agent publishes it and the portal accepts it: one document
 * per campaign and agent host (so a PI, or an auditor, gets exactly their campaign's figures, with
 * one signature), carried as CMS SignedData with the content attached and signed with the agent
 * host's certificate (mapper-agent/ingest/publish.ts; server/services/compliance-reports.ts).
 * The content is this JSON, validated on both sides: the portal parses untrusted bytes with it.
 */
import { z } from 'zod';

export const COMPLIANCE_FORMAT = 'campaign-guard/compliance-report';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** An ISO 8601 UTC time that exists (Date.parse rolls 2026-02-30 over into March: compare the round trip). */
const isoTime = z.string().max(40).refine((v) => {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/.test(v)) return false;
  const t = Date.parse(v);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 19) === v.slice(0, 19);
}, 'an ISO 8601 UTC time');
const history = z.object({ files: count, last: isoTime.nullable(), runs: z.array(count).max(10_000) }).strict();

export const campaignFiguresSchema = z.object({
  campaign: z.string().min(1).max(64),
  files: count,
  closed: count,
  public: count,
  drift: count,
  released: history,
  reembargoed: history,
}).strict();

export const traceReferenceSchema = z.object({
  campaign: z.string().max(64),
  traces: count,
  byEvent: z.record(z.string().max(32), count).refine((r) => Object.keys(r).length <= 32, 'at most 32 event types'),
  first: count,
  last: count,
  lastBatch: z.object({ id: count, first: count, last: count, root: z.string().regex(/^[0-9a-f]{64}$/), signedAt: isoTime }).strict().nullable(),
}).strict();

export const complianceDocumentSchema = z.object({
  format: z.literal(COMPLIANCE_FORMAT),
  version: z.literal(1),
  /** the agent host, as its signing certificate names it */
  host: z.string().min(1).max(253),
  /** a site label from the agent's configuration (agent.report.site) */
  site: z.string().max(100),
  generatedAt: isoTime,
  /** the campaign's figures on this host's data roots (a read-only walk) and from its journal */
  figures: campaignFiguresSchema,
  /** files under this host's roots not attributable to any campaign (site-wide, closed to the world) */
  quarantined: count,
  /** the traces behind the figures; null when the agent keeps no signed traces */
  traces: z.object({
    /** the trace store the references point into, on the agent host */
    store: z.string().max(4096),
    total: count,
    batches: count,
    campaign: traceReferenceSchema.nullable(),
  }).strict().nullable(),
}).strict();

export type CampaignFigures = z.infer<typeof campaignFiguresSchema>;
export type TraceReferenceDoc = z.infer<typeof traceReferenceSchema>;
export type ComplianceDocument = z.infer<typeof complianceDocumentSchema>;

/** The JSON body of a publication: the documents of one report, each CMS SignedData (DER) in base64. */
export const publicationSchema = z.object({ reports: z.array(z.string().min(1).max(2_000_000)).min(1).max(5000) }).strict();
