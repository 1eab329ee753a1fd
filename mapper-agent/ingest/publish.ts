/**
 * Publishing the compliance report to the portal: one document per campaign (the campaign's
 * figures, the site-wide quarantine count, the trace references behind them), each signed as CMS
 * SignedData with the content attached, with the agent's trace-signing host certificate, and sent
 * together in one HTTPS POST. The portal checks the signature and the signer against its trust
 * directory and its list of agent hosts; an auditor checks a downloaded document with
 * `openssl cms -verify -inform DER -in <file>.p7m -CApath <trust dir> -purpose any`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { COMPLIANCE_FORMAT, complianceDocumentSchema, type ComplianceDocument } from '../../core/embargo/compliance-envelope.js';
import { ConfigError } from '../../core/errors.js';
import { signAttached, type Signer } from '../../core/pki/cms.js';
import { TraceStore, type TraceReference } from '../traces/store.js';
import { configuredSigner, tracesPath } from '../traces/session.js';
import type { AgentConfig } from '../config.js';
import type { ReportConfig } from './publish-config.js';
import type { ComplianceReport } from './report.js';

export interface TraceSummary {
  store: string;
  total: number;
  batches: number;
  campaigns: TraceReference[];
}

/** The documents of a report (validated with the schema the portal uses: a bad one is our bug, not the portal's refusal). */
export function complianceDocuments(report: ComplianceReport, o: { host: string; site: string; traces: TraceSummary | null }): ComplianceDocument[] {
  return report.campaigns.map((figures) => complianceDocumentSchema.parse({
    format: COMPLIANCE_FORMAT,
    version: 1,
    host: o.host,
    site: o.site,
    generatedAt: report.generatedAt,
    figures,
    quarantined: report.quarantined,
    traces: o.traces
      ? { store: o.traces.store, total: o.traces.total, batches: o.traces.batches, campaign: o.traces.campaigns.find((t) => t.campaign === figures.campaign) ?? null }
      : null,
  }));
}

/** Each document as CMS SignedData (DER) carrying its JSON. */
export function signDocuments(docs: ComplianceDocument[], signer: Signer, at = new Date()): Buffer[] {
  return docs.map((d) => signAttached(Buffer.from(JSON.stringify(d), 'utf8'), signer, at));
}

export interface PublishResult {
  status: number;
  body: unknown;
}

/** POST the signed documents to agent.report.publishUrl (JSON, base64 DER). A refusal is an error with the portal's reason. */
export async function postDocuments(cfg: ReportConfig, signed: Buffer[]): Promise<PublishResult> {
  if (!cfg.publishUrl) throw new ConfigError('agent.report.publishUrl is not set: nowhere to publish the report');
  let ca: Buffer | undefined;
  if (cfg.caFile) {
    try {
      ca = readFileSync(cfg.caFile);
    } catch (err) {
      throw new ConfigError(`agent.report.caFile: ${(err as Error).message}`);
    }
  }
  const body = Buffer.from(JSON.stringify({ reports: signed.map((d) => d.toString('base64')) }));
  const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(cfg.publishUrl, {
      method: 'POST', timeout: cfg.timeoutMs, ...(ca ? { ca } : {}),
      headers: { 'content-type': 'application/json', 'content-length': String(body.length), accept: 'application/json' },
    }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      r.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${cfg.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  }).catch((err: unknown) => {
    throw new PublishRefused(0, `the portal at ${cfg.publishUrl} is not reachable: ${(err as Error).message}`);
  });
  let parsed: unknown = res.text;
  try {
    parsed = JSON.parse(res.text);
  } catch {
    /* not JSON: keep the text */
  }
  if (res.status !== 201) {
    const reason = typeof parsed === 'object' && parsed && 'error' in parsed ? String((parsed as { error: unknown }).error) : res.text.slice(0, 500);
    throw new PublishRefused(res.status, `the portal refused the report (HTTP ${res.status}): ${reason}`);
  }
  return { status: res.status, body: parsed };
}

/** The report was not published: the portal refused it (status), or could not be reached (status 0). Nothing on disk changed. */
export class PublishRefused extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The trace references of the agent's store, read-only; null when there is no store yet. */
export function traceSummary(file: string): TraceSummary | null {
  if (!existsSync(file)) return null;
  const store = new TraceStore(file, { readonly: true });
  try {
    const c = store.counts();
    return { store: file, total: c.traces, batches: c.batches, campaigns: store.campaignReferences() };
  } finally {
    store.close();
  }
}

/**
 * Sign and publish a computed report (`report --publish`, the daemon's agent.report.publishSchedule):
 * the signer is the trace-signing host certificate (refused as a ConfigError when it cannot sign now).
 */
export async function publishReport(cfg: AgentConfig, report: ComplianceReport): Promise<{ documents: number; host: string; answer: unknown }> {
  const signer = configuredSigner(cfg.agent.traces);
  const traces = traceSummary(tracesPath(cfg.agent.traces, cfg.agent.stateDir));
  const docs = complianceDocuments(report, { host: signer.host, site: cfg.agent.report.site, traces });
  if (!docs.length) return { documents: 0, host: signer.host, answer: null };
  const answer = await postDocuments(cfg.agent.report, signDocuments(docs, signer));
  return { documents: docs.length, host: signer.host, answer: answer.body };
}
