/**
 * What every portal operation needs: who is acting (already authenticated), the directory, and
 * the audit trail. Services check authorization themselves, so the HTML routes and the JSON API
 * share one set of rules.
 */
import type { Directory } from '../../core/directory/index.js';
import type { Delivery, PersonMail } from './notifications.js';

export interface Actor {
  /** Username of the logged-in account; undefined while registering. */
  username?: string;
  isAdmin: boolean;
  /** The identity used to log in, as text (grid DN, or sub@issuer), for the audit trail. */
  identity: string;
  /** Client address as the portal saw it (after trusted-proxy handling). */
  ip: string;
}

/** Every action the audit trail records (the admin page offers them, and their prefixes, as filters). */
export const AUDIT_ACTIONS = [
  'account.create', 'account.update', 'account.suspend', 'account.reactivate', 'account.delete', 'account.login',
  'identity.bind', 'identity.unbind', 'identity.revoke', 'identity.reinstate', 'identity.issuer-change',
  'membership.request', 'membership.approve', 'membership.deny', 'membership.remove', 'membership.withdraw', 'membership.leave', 'membership.add',
  'membership.until', 'membership.expire',
  'campaign.create', 'campaign.close', 'campaign.reopen', 'embargo.change', 'role.change', 'policy.accept',
  'embargo.extension-request', 'embargo.extension-approve', 'embargo.extension-deny',
  'service.create', 'allocation.designate-writer', 'compliance.report',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEvent {
  actor: string;
  actorIdentity: string;
  sourceIp: string;
  action: AuditAction;
  target: string;
  details?: Record<string, unknown>;
}

/** Where audit events go; the SQLite hash-chained trail implements it. */
export interface AuditSink {
  append(event: AuditEvent): unknown;
}

export interface ServiceContext {
  directory: Directory;
  audit: AuditSink;
  /** issuer URL -> gPlazma alias of the OpenID providers (for dCache collision checks); optional */
  gplazmaAliases?: Map<string, string>;
  /** Mail to people (server/services/notifications.ts); absent: nobody is told. Never throws. */
  notify?: { toPerson(username: string, mail: PersonMail): Promise<Delivery> };
}

export function audit(ctx: ServiceContext, actor: Actor, action: AuditAction, target: string, details?: Record<string, unknown>): void {
  ctx.audit.append({ actor: actor.username ?? '(registering)', actorIdentity: actor.identity, sourceIp: actor.ip, action, target, ...(details ? { details } : {}) });
}
