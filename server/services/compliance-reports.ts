/**
 * Compliance reports from the mapper agents (docs/compliance.md). The figures live on the storage
 * hosts; each agent publishes them, one CMS SignedData document per campaign signed with its host
 * certificate. The portal believes a document only when its signature verifies, the signer's chain
 * passes the same checks as a certificate login (trust directory, CRLs, namespaces), the signer's
 * grid DN is a configured agent host, the document names the host its certificate names, and it is
 * newer than what that host last sent for the campaign (no replay) and not from the future. It
 * keeps the signed bytes (for auditors: `openssl cms -verify`) and the parsed figures in SQLite
 * beside the sessions: portal-local state, never directory data. Every receipt is audited.
 */
import type Database from 'better-sqlite3';
import { openLocalDatabase } from '../local-database.js';
import { createHash } from 'node:crypto';
import { complianceDocumentSchema, type ComplianceDocument } from '../../core/embargo/compliance-envelope.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../core/errors.js';
import { hostNames, verifyAttached } from '../../core/pki/cms.js';
import { verifyChain, type TrustStore } from '../auth/certificate-chain.js';
import type { Actor, ServiceContext } from './context.js';
import { permissionsFor } from './memberships.js';

export interface StoredReport {
  id: number;
  /** the signer's grid DN */
  hostDn: string;
  host: string;
  site: string;
  campaign: string;
  generatedAt: string;
  receivedAt: string;
  /** SHA-256 of the signing certificate (hex) */
  signer: string;
  document: ComplianceDocument;
}

interface Row {
  id: number; host_dn: string; host: string; site: string; campaign: string; generated_ms: number; generated_at: string;
  received_at: string; signer: string; document: string;
}

const fromRow = (r: Row): StoredReport => ({
  id: r.id, hostDn: r.host_dn, host: r.host, site: r.site, campaign: r.campaign, generatedAt: r.generated_at, receivedAt: r.received_at,
  signer: r.signer, document: JSON.parse(r.document) as ComplianceDocument,
});

const COLUMNS = 'id, host_dn, host, site, campaign, generated_ms, generated_at, received_at, signer, document';

export class ComplianceReportStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = openLocalDatabase(file);
    this.db.exec(`CREATE TABLE IF NOT EXISTS compliance_reports (
      id INTEGER PRIMARY KEY, host_dn TEXT NOT NULL, host TEXT NOT NULL, site TEXT NOT NULL, campaign TEXT NOT NULL,
      generated_ms INTEGER NOT NULL, generated_at TEXT NOT NULL, received_at TEXT NOT NULL, signer TEXT NOT NULL,
      document TEXT NOT NULL, signed BLOB NOT NULL);
      CREATE INDEX IF NOT EXISTS compliance_by_campaign ON compliance_reports(campaign, host_dn, generated_ms);`);
  }

  /** The newest report time (ms) stored from this host for this campaign. */
  newest(hostDn: string, campaign: string): number | undefined {
    const r = this.db.prepare('SELECT max(generated_ms) AS m FROM compliance_reports WHERE host_dn = ? AND campaign = ?').get(hostDn, campaign) as { m: number | null };
    return r.m ?? undefined;
  }

  /** Store the accepted documents of one publication in one transaction; returns their ids. */
  insert(rows: { hostDn: string; signer: string; document: ComplianceDocument; signed: Buffer }[], receivedAt: Date): number[] {
    const stmt = this.db.prepare(`INSERT INTO compliance_reports (host_dn, host, site, campaign, generated_ms, generated_at, received_at, signer, document, signed)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    return this.db.transaction(() => rows.map((r) => {
      // the replay check again inside the transaction: two publications racing cannot both pass it
      const newest = this.newest(r.hostDn, r.document.figures.campaign);
      if (newest !== undefined && newest >= Date.parse(r.document.generatedAt)) throw staleError(r.document, newest);
      return Number(stmt.run(r.hostDn, r.document.host, r.document.site, r.document.figures.campaign, Date.parse(r.document.generatedAt), r.document.generatedAt,
        receivedAt.toISOString(), r.signer, JSON.stringify(r.document), r.signed).lastInsertRowid);
    }))();
  }

  /** Each agent host's latest report of a campaign. */
  latestFor(campaign: string): StoredReport[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM compliance_reports r
      WHERE campaign = ? AND generated_ms = (SELECT max(generated_ms) FROM compliance_reports WHERE campaign = r.campaign AND host_dn = r.host_dn)
      ORDER BY host, host_dn`).all(campaign) as Row[]).map(fromRow);
  }

  /** Every campaign's latest report from each host (the admins' overview). */
  latestAll(): StoredReport[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM compliance_reports r
      WHERE generated_ms = (SELECT max(generated_ms) FROM compliance_reports WHERE campaign = r.campaign AND host_dn = r.host_dn)
      ORDER BY campaign, host, host_dn`).all() as Row[]).map(fromRow);
  }

  get(id: number): (StoredReport & { signed: Buffer }) | undefined {
    const r = this.db.prepare(`SELECT ${COLUMNS}, signed FROM compliance_reports WHERE id = ?`).get(id) as (Row & { signed: Buffer }) | undefined;
    return r ? { ...fromRow(r), signed: Buffer.from(r.signed) } : undefined;
  }

  close(): void {
    this.db.close();
  }
}

function staleError(d: ComplianceDocument, newest: number): ConflictError {
  return new ConflictError(`the report of ${d.figures.campaign} from ${d.host} generated at ${d.generatedAt} is not newer than the one already received (${new Date(newest).toISOString()}): refused (replayed or out of order)`);
}

export interface ReceiveOptions {
  trust: TrustStore | undefined;
  /** grid DNs of the configured agent hosts */
  agentHosts: string[];
  maxSkewSeconds: number;
  now?: Date;
}

/**
 * Check and store the documents of one publication (all or nothing: they come from one signer and
 * one report). Refusals: ValidationError (not a signed report, bad content), ForbiddenError (signer
 * not trusted, not an agent host, names another host), ConflictError (not newer: a replay).
 */
export async function receiveComplianceReports(ctx: ServiceContext, store: ComplianceReportStore, actor: Actor, signedDocs: Buffer[], o: ReceiveOptions): Promise<{ host: string; hostDn: string; generatedAt: string; accepted: { campaign: string; id: number }[] }> {
  const now = o.now ?? new Date();
  if (!o.trust) throw new ForbiddenError('this portal has no trust directory (portal.tls.clientCaFiles): it cannot check signed reports');
  if (!signedDocs.length) throw new ValidationError('no report in the request');
  const rows: { hostDn: string; signer: string; document: ComplianceDocument; signed: Buffer }[] = [];
  for (const [i, der] of signedDocs.entries()) {
    const which = signedDocs.length > 1 ? `document ${i + 1}: ` : '';
    const cms = await verifyAttached(der);
    if (!cms.ok || !cms.content || !cms.signerDer) throw new ValidationError(`${which}not a signed report: ${cms.problem ?? 'no content'}`);
    // The signer as a certificate login would see it: chain, validity, CRLs, CA namespaces.
    const cert = await verifyChain([cms.signerDer, ...cms.others], o.trust, now);
    const hostDn = cert.subjectGridForms.find((dn) => o.agentHosts.includes(dn));
    if (!hostDn) throw new ForbiddenError(`${which}the signer ${cert.subjectGrid} is not a configured agent host (portal.complianceReports.agentHosts)`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(cms.content.toString('utf8'));
    } catch {
      throw new ValidationError(`${which}the signed content is not JSON`);
    }
    const doc = complianceDocumentSchema.safeParse(parsed);
    if (!doc.success) throw new ValidationError(`${which}the signed content is not a compliance report: ${doc.error.issues.slice(0, 3).map((x) => `${x.path.join('.') || '(document)'}: ${x.message}`).join('; ')}`);
    const d = doc.data;
    if (!hostNames(cms.signerDer).includes(d.host.toLowerCase())) throw new ForbiddenError(`${which}the report names host ${d.host}, which its signing certificate (${cert.subjectGrid}) does not`);
    if (Date.parse(d.generatedAt) > now.getTime() + o.maxSkewSeconds * 1000) throw new ValidationError(`${which}the report is dated ${d.generatedAt}, in the future (this portal's clock: ${now.toISOString()}; allowed skew ${o.maxSkewSeconds} s)`);
    if (rows.length && (rows[0]!.signer !== cert.fingerprint || rows[0]!.document.generatedAt !== d.generatedAt)) throw new ValidationError(`${which}the documents of one request must come from one signer and one report`);
    if (rows.some((r) => r.document.figures.campaign === d.figures.campaign)) throw new ValidationError(`${which}campaign ${d.figures.campaign} appears twice`);
    const newest = store.newest(hostDn, d.figures.campaign);
    if (newest !== undefined && newest >= Date.parse(d.generatedAt)) throw staleError(d, newest);
    rows.push({ hostDn, signer: cert.fingerprint, document: d, signed: Buffer.from(der) });
  }
  const ids = store.insert(rows, now);
  const first = rows[0]!;
  // The actor is the agent host (no portal account): named by its signing certificate.
  ctx.audit.append({ actor: `agent ${first.document.host}`, actorIdentity: first.hostDn, sourceIp: actor.ip, action: 'compliance.report', target: first.hostDn, details: {
    host: first.document.host, site: first.document.site, generatedAt: first.document.generatedAt, signer: first.signer,
    campaigns: rows.map((r) => r.document.figures.campaign), documents: rows.length,
    sha256: createHash('sha256').update(Buffer.concat(rows.map((r) => r.signed))).digest('hex'),
  } });
  return { host: first.document.host, hostDn: first.hostDn, generatedAt: first.document.generatedAt, accepted: rows.map((r, i) => ({ campaign: r.document.figures.campaign, id: ids[i]! })) };
}

/** A campaign's latest reports, for its PI and the admins only (others: ForbiddenError; unknown campaign: NotFoundError). */
export async function complianceFor(ctx: ServiceContext, store: ComplianceReportStore, actor: Actor, campaignName: string): Promise<StoredReport[]> {
  const campaign = await ctx.directory.campaigns.require(campaignName);
  const p = await permissionsFor(ctx, actor, campaign, []);
  if (!p.isPi && !actor.isAdmin) throw new ForbiddenError(`the compliance report of ${campaign.name} is for its PI and the admins`);
  return store.latestFor(campaign.name);
}

/** One stored signed document, when the actor may see its campaign's report. */
export async function signedDocumentFor(ctx: ServiceContext, store: ComplianceReportStore, actor: Actor, campaignName: string, id: number): Promise<StoredReport & { signed: Buffer }> {
  await complianceFor(ctx, store, actor, campaignName);
  const r = Number.isSafeInteger(id) ? store.get(id) : undefined;
  if (!r || r.campaign !== campaignName) throw new NotFoundError(`no report ${id} of ${campaignName}`);
  return r;
}
