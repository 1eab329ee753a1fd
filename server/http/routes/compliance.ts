/**
 * Embargo compliance reports (docs/compliance.md): the agents' signed publications (POST
 * /api/compliance-reports, authenticated by the signature alone: no token, no session, no cookie,
 * so no CSRF exposure), a campaign's compliance page for its PI and the admins with the signed
 * documents to download (.p7m), and the admins' overview of every campaign.
 */
import express, { Router, type Request } from 'express';
import { rateLimit } from 'express-rate-limit';
import { publicationSchema } from '../../../core/embargo/compliance-envelope.js';
import { ValidationError } from '../../../core/errors.js';
import { requireAdmin } from '../../services/administration.js';
import { complianceFor, receiveComplianceReports, signedDocumentFor, type StoredReport } from '../../services/compliance-reports.js';
import type { PortalDeps } from '../deps.js';
import { handle, requireUser } from '../request-context.js';
import { page } from '../render.js';

const PKCS7_TYPES = ['application/pkcs7-mime', 'application/pkcs7', 'application/pkcs7-signature'];

/** The signed documents of a request: one DER body (application/pkcs7-mime), or JSON { reports: [base64 DER, ...] }. */
function signedDocuments(req: Request): Buffer[] {
  if (Buffer.isBuffer(req.body)) return [req.body];
  const parsed = publicationSchema.safeParse(req.body);
  if (!parsed.success) throw new ValidationError('send CMS SignedData as application/pkcs7-mime, or JSON {"reports": ["<base64 DER>", ...]}');
  return parsed.data.reports.map((b64, i) => {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new ValidationError(`report ${i + 1} is not base64`);
    return Buffer.from(b64, 'base64');
  });
}

export function complianceReceiveRoutes(deps: PortalDeps): Router {
  const r = Router();
  const limit = deps.config.complianceReports.maxBytes;
  // Before the body is read or any signature checked: a flood from one address costs no CMS verification.
  r.use(rateLimit({ windowMs: 60_000, limit: deps.config.complianceReports.rateLimitPerMinute, standardHeaders: 'draft-7', legacyHeaders: false }));
  r.post('/', express.raw({ type: PKCS7_TYPES, limit }), express.json({ limit }), handle(async (req, res) => {
    if (!Buffer.isBuffer(req.body) && !req.is('application/json')) throw new ValidationError(`Content-Type must be ${PKCS7_TYPES[0]} or application/json`);
    const done = await receiveComplianceReports(deps.services, deps.complianceReports!, { username: undefined, isAdmin: false, identity: 'agent', ip: req.ip ?? '' }, signedDocuments(req), {
      trust: deps.trust, agentHosts: deps.config.complianceReports.agentHosts, maxSkewSeconds: deps.config.complianceReports.maxSkewSeconds,
    });
    res.status(201).json(done);
  }));
  return r;
}

/** "3 h 5 min", "2 days 4 h": how old a report is, for people. */
export function ageText(ms: number): string {
  const min = Math.max(0, Math.floor(ms / 60_000));
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
  return `${Math.floor(h / 24)} days${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** What the pages and the API show of a stored report. */
export function reportView(r: StoredReport, staleHours: number, now = Date.now()) {
  const d = r.document;
  const f = d.figures;
  const ageMs = now - Date.parse(r.generatedAt);
  const t = d.traces?.campaign ?? null;
  return {
    id: r.id, campaign: r.campaign, host: r.host, hostDn: r.hostDn, site: r.site, generatedAt: r.generatedAt, receivedAt: r.receivedAt,
    age: ageText(ageMs), stale: ageMs > staleHours * 3600_000,
    files: f.files, closed: f.closed, public: f.public, drift: f.drift,
    released: { files: f.released.files, last: f.released.last, runs: f.released.runs.join(' ') || '—' },
    reembargoed: { files: f.reembargoed.files, last: f.reembargoed.last, runs: f.reembargoed.runs.join(' ') || '—' },
    quarantined: d.quarantined,
    traces: d.traces
      ? {
          store: d.traces.store, total: d.traces.total, batches: d.traces.batches,
          campaign: t ? { traces: t.traces, first: t.first, last: t.last, byEvent: Object.entries(t.byEvent).map(([event, n]) => `${event} ${n}`).join(', '), lastBatch: t.lastBatch } : null,
        }
      : null,
    download: `/campaigns/${encodeURIComponent(r.campaign)}/compliance/${r.id}.p7m`,
  };
}

export function compliancePageRoutes(deps: PortalDeps): Router {
  const r = Router();
  const staleHours = deps.config.complianceReports.staleHours;
  const store = () => deps.complianceReports!;

  r.get('/campaigns/:name/compliance', handle(async (req, res) => {
    requireUser(req);
    const name = String(req.params.name);
    const reports = (await complianceFor(deps.services, store(), req.actor, name)).map((x) => reportView(x, staleHours));
    page(deps, req, res, 'compliance', { title: `${name}: embargo compliance`, campaign: name, reports, staleHours, anyStale: reports.some((x) => x.stale) });
  }));

  r.get('/campaigns/:name/compliance/:id.p7m', handle(async (req, res) => {
    requireUser(req);
    const name = String(req.params.name);
    const doc = await signedDocumentFor(deps.services, store(), req.actor, name, Number(req.params.id));
    const file = `compliance-${name}-${doc.host}-${doc.generatedAt.replace(/[:.]/g, '')}.p7m`.replace(/[^A-Za-z0-9._-]/g, '_');
    res.status(200).type('application/pkcs7-mime').set('content-disposition', `attachment; filename="${file}"`).send(doc.signed);
  }));

  r.get('/admin/compliance', handle(async (req, res) => {
    requireAdmin(req.actor);
    const reports = store().latestAll().map((x) => reportView(x, staleHours));
    page(deps, req, res, 'admin/compliance', { title: 'Embargo compliance', reports, staleHours, anyStale: reports.some((x) => x.stale) });
  }));
  return r;
}
