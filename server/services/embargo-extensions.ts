/**
 * Embargo extensions asked by a campaign's PI and decided by an admin (the ALMA model: the old
 * date holds while the request is pending; only an approval changes it, through changeEmbargo,
 * audited as embargo.change). Requests are portal-local state in SQLite beside the sessions
 * (DESIGN: pending requests may live there); the embargo date itself is only ever in LDAP.
 */
import type Database from 'better-sqlite3';
import { openLocalDatabase } from '../local-database.js';
import { randomUUID } from 'node:crypto';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../core/errors.js';
import { changeEmbargo, parseEmbargoDate, requireAdmin } from './administration.js';
import { audit, type Actor, type ServiceContext } from './context.js';
import { requireLogin } from './accounts.js';

export interface ExtensionRequest {
  id: string;
  campaign: string;
  requester: string;
  /** requested end, YYYY-MM-DD */
  newEnd: string;
  /** the end when asked, ISO 8601 */
  currentEnd: string;
  reason: string;
  state: 'pending' | 'approved' | 'denied';
  createdAt: string;
  decidedBy?: string;
  decisionReason?: string;
  decidedAt?: string;
}

interface Row {
  id: string; campaign: string; requester: string; new_end: string; current_end: string; reason: string; state: ExtensionRequest['state'];
  created_at: string; decided_by: string | null; decision_reason: string | null; decided_at: string | null;
}

const fromRow = (r: Row): ExtensionRequest => ({
  id: r.id, campaign: r.campaign, requester: r.requester, newEnd: r.new_end, currentEnd: r.current_end, reason: r.reason, state: r.state, createdAt: r.created_at,
  ...(r.decided_by ? { decidedBy: r.decided_by } : {}), ...(r.decision_reason ? { decisionReason: r.decision_reason } : {}), ...(r.decided_at ? { decidedAt: r.decided_at } : {}),
});

export class EmbargoExtensionStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = openLocalDatabase(file);
    this.db.exec(`CREATE TABLE IF NOT EXISTS embargo_extensions (
      id TEXT PRIMARY KEY, campaign TEXT NOT NULL, requester TEXT NOT NULL, new_end TEXT NOT NULL, current_end TEXT NOT NULL, reason TEXT NOT NULL,
      state TEXT NOT NULL, created_at TEXT NOT NULL, decided_by TEXT, decision_reason TEXT, decided_at TEXT);
      CREATE UNIQUE INDEX IF NOT EXISTS one_pending ON embargo_extensions(campaign) WHERE state = 'pending';`);
  }

  pending(campaign?: string): ExtensionRequest[] {
    const rows = campaign
      ? this.db.prepare("SELECT * FROM embargo_extensions WHERE state = 'pending' AND campaign = ? ORDER BY created_at").all(campaign)
      : this.db.prepare("SELECT * FROM embargo_extensions WHERE state = 'pending' ORDER BY created_at").all();
    return (rows as Row[]).map(fromRow);
  }

  forCampaign(campaign: string): ExtensionRequest[] {
    return (this.db.prepare('SELECT * FROM embargo_extensions WHERE campaign = ? ORDER BY created_at DESC LIMIT 20').all(campaign) as Row[]).map(fromRow);
  }

  get(id: string): ExtensionRequest | undefined {
    const row = this.db.prepare('SELECT * FROM embargo_extensions WHERE id = ?').get(id) as Row | undefined;
    return row && fromRow(row);
  }

  insert(r: Omit<ExtensionRequest, 'id' | 'state' | 'createdAt'>): ExtensionRequest {
    const id = randomUUID();
    try {
      this.db.prepare("INSERT INTO embargo_extensions (id, campaign, requester, new_end, current_end, reason, state, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)")
        .run(id, r.campaign, r.requester, r.newEnd, r.currentEnd, r.reason, new Date().toISOString());
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new ConflictError(`an extension of ${r.campaign} is already waiting for a decision`);
      throw err;
    }
    return this.get(id)!;
  }

  /** Compare-and-swap out of pending: false when it was decided meanwhile. */
  decide(id: string, state: 'approved' | 'denied', by: string, reason: string): boolean {
    return this.db.prepare("UPDATE embargo_extensions SET state = ?, decided_by = ?, decision_reason = ?, decided_at = ? WHERE id = ? AND state = 'pending'")
      .run(state, by, reason, new Date().toISOString(), id).changes === 1;
  }

  close(): void {
    this.db.close();
  }
}

/** The PI asks for a later embargo end, with a reason; admins are told. */
export async function requestExtension(ctx: ServiceContext, store: EmbargoExtensionStore, actor: Actor, campaignName: string, newEnd: unknown, reason: unknown): Promise<ExtensionRequest> {
  const username = requireLogin(actor);
  const campaign = await ctx.directory.campaigns.require(campaignName);
  if (campaign.pi !== username) throw new ForbiddenError(`only the PI of ${campaign.name} asks for an extension of its embargo`);
  if (!campaign.embargoEnd) throw new ConflictError(`${campaign.name} has no embargo to extend`);
  const end = parseEmbargoDate(newEnd);
  if (!end) throw new ValidationError('give the new embargo end (YYYY-MM-DD)');
  if (end.getTime() <= campaign.embargoEnd.getTime()) throw new ValidationError(`the new end must be after the current one (${campaign.embargoEnd.toISOString().slice(0, 10)})`);
  const why = typeof reason === 'string' ? reason.trim() : '';
  if (why.length < 10 || why.length > 1000) throw new ValidationError('give a reason of 10 to 1000 characters');
  const request = store.insert({ campaign: campaign.name, requester: username, newEnd: end.toISOString().slice(0, 10), currentEnd: campaign.embargoEnd.toISOString(), reason: why });
  audit(ctx, actor, 'embargo.extension-request', campaign.name, { request: request.id, from: request.currentEnd, to: request.newEnd, reason: why });
  for await (const page of ctx.directory.people.all()) {
    for (const admin of page.filter((p) => p.roles.includes('admin') && p.status === 'active')) {
      await ctx.notify?.toPerson(admin.username, {
        subject: `Campaign ${campaign.name}: embargo extension to ${request.newEnd} requested`,
        text: `${username}, PI of campaign ${campaign.name}, asks to extend its embargo from ${request.currentEnd.slice(0, 10)} to ${request.newEnd}, because:\n\n  ${why}\n\nThe current date holds until an admin decides.\n`,
        why: 'you are an administrator of the campaign-guard portal',
        path: '/admin/requests',
      });
    }
  }
  return request;
}

/** An admin approves (the embargo changes, audited as embargo.change) or denies, with a reason; the PI is told. */
export async function decideExtension(ctx: ServiceContext, store: EmbargoExtensionStore, actor: Actor, id: string, decision: 'approved' | 'denied', reason: unknown): Promise<ExtensionRequest> {
  const admin = requireAdmin(actor);
  const request = store.get(id);
  if (!request) throw new NotFoundError('no such extension request');
  if (request.state !== 'pending') throw new ConflictError(`the request was already ${request.state}`);
  const why = typeof reason === 'string' ? reason.trim().slice(0, 500) : '';
  if (decision === 'denied' && why.length < 3) throw new ValidationError('give a reason for the denial (the PI reads it)');
  if (decision === 'approved') {
    const campaign = await ctx.directory.campaigns.require(request.campaign);
    // The date may have changed since the request; an approval never shortens the embargo.
    if (campaign.embargoEnd && campaign.embargoEnd.toISOString().slice(0, 10) >= request.newEnd) throw new ConflictError(`the embargo of ${campaign.name} already ends on or after ${request.newEnd}`);
  }
  if (!store.decide(id, decision, admin, why)) throw new ConflictError('the request was decided meanwhile');
  if (decision === 'approved') await changeEmbargo(ctx, actor, request.campaign, request.newEnd, `extension requested by ${request.requester}: ${request.reason}${why ? ` (approved: ${why})` : ''}`);
  audit(ctx, actor, decision === 'approved' ? 'embargo.extension-approve' : 'embargo.extension-deny', request.campaign, { request: id, to: request.newEnd, ...(why ? { reason: why } : {}) });
  await ctx.notify?.toPerson(request.requester, {
    subject: `Campaign ${request.campaign}: embargo extension to ${request.newEnd} ${decision}`,
    text: `Your request to extend the embargo of campaign ${request.campaign} to ${request.newEnd} was ${decision} by ${admin}.\n${why ? `\nThe reason given:\n\n  ${why}\n` : ''}`,
    why: `you asked to extend the embargo of campaign ${request.campaign}`,
    path: `/campaigns/${encodeURIComponent(request.campaign)}`,
  });
  return store.get(id)!;
}
