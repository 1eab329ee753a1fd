/**
 * Admin-only operations: campaigns and their embargo dates, accounts and roles. Every change is
 * audited; an embargo change needs a reason.
 */
import { openingOf, periodChangeOf } from './embargo-opening.js';
import { z } from 'zod';
import { ConflictError, ForbiddenError, NotFoundError, schemaIssues, ValidationError } from '../../core/errors.js';
import { describeIdentity, identityRef, NAME_PATTERN, type Campaign, type Person } from '../../core/directory/index.js';
import { MAX_PROPRIETARY_DAYS, parseProprietaryDays } from '../../core/directory/decode.js';
import { audit, type Actor, type ServiceContext } from './context.js';

export function requireAdmin(actor: Actor): string {
  if (!actor.username || !actor.isAdmin) throw new ForbiddenError('this needs the admin role');
  return actor.username;
}

/** A campaign as the JSON API returns it: no date is null (embargoEnd: none; proprietaryDays: not rolling). */
export function campaignJson(c: Campaign): Omit<Campaign, 'embargoEnd' | 'proprietaryDays'> & { embargoEnd: Date | null; proprietaryDays: number | null } {
  return { ...c, embargoEnd: c.embargoEnd ?? null, proprietaryDays: c.proprietaryDays ?? null };
}

/** 'YYYY-MM-DD' (end of that day, UTC) or '' for no embargo. */
export function parseEmbargoDate(value: unknown): Date | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new ValidationError('embargo end must be a date YYYY-MM-DD, or empty for none');
  const date = new Date(`${value}T23:59:59Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) throw new ValidationError(`${value} is not a calendar date`);
  return date;
}

export const newCampaignSchema = z.object({
  name: z.string().trim().regex(NAME_PATTERN, 'campaign name: lower-case letters, digits, . _ -; starting with a letter; at most 32'),
  description: z.string().trim().max(500).optional().default(''),
  pi: z.string().trim().regex(NAME_PATTERN, 'PI: a username'),
  embargoEnd: z.string().optional().default(''),
});

export async function createCampaign(ctx: ServiceContext, actor: Actor, input: unknown): Promise<Campaign> {
  requireAdmin(actor);
  const r = newCampaignSchema.safeParse(input);
  if (!r.success) throw ValidationError.of(schemaIssues(r.error));
  const embargoEnd = parseEmbargoDate(r.data.embargoEnd);
  const campaign = await ctx.directory.campaigns.create({
    name: r.data.name, pi: r.data.pi, embargoEnd, ...(r.data.description ? { description: r.data.description } : {}),
  });
  audit(ctx, actor, 'campaign.create', campaign.name, { pi: campaign.pi, gidNumber: campaign.gidNumber, embargoEnd: embargoEnd?.toISOString() ?? null });
  return campaign;
}

export async function changeEmbargo(ctx: ServiceContext, actor: Actor, name: string, value: unknown, reason: unknown): Promise<Campaign> {
  requireAdmin(actor);
  if (typeof reason !== 'string' || reason.trim().length < 3) throw new ValidationError('give a reason for the embargo change (kept in the audit trail)');
  const before = await ctx.directory.campaigns.require(name);
  const end = parseEmbargoDate(value);
  await ctx.directory.campaigns.setEmbargoEnd(name, end);
  const reembargo = openingOf(before.embargoEnd, end, new Date()).closesReleased; // released data closed again
  audit(ctx, actor, 'embargo.change', name, { from: before.embargoEnd?.toISOString() ?? null, to: end?.toISOString() ?? null, reason: reason.trim().slice(0, 500), ...(reembargo ? { reembargo: true } : {}) });
  return ctx.directory.campaigns.require(name);
}

/** Whole days 1..36500 (rolling release), or '' for none (the campaign date rules). */
export function parseProprietaryPeriod(value: unknown): number | null {
  if (value === undefined || value === null || value === '') return null;
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const days = parseProprietaryDays(text);
  if (days === undefined) throw new ValidationError(`the proprietary period is whole days, 1 to ${MAX_PROPRIETARY_DAYS}, or empty for none`);
  return days;
}

/**
 * Set or remove a campaign's proprietary period (rolling release: each file opens that many days
 * after its DATE-OBS; see docs/ingest.md). It changes when data open, so it is audited as an
 * embargo change, with a reason.
 */
export async function changeProprietaryPeriod(ctx: ServiceContext, actor: Actor, name: string, value: unknown, reason: unknown): Promise<Campaign> {
  requireAdmin(actor);
  if (typeof reason !== 'string' || reason.trim().length < 3) throw new ValidationError('give a reason for the embargo change (kept in the audit trail)');
  const days = parseProprietaryPeriod(value);
  const before = await ctx.directory.campaigns.require(name);
  const effect = periodChangeOf(before.embargoEnd, before.proprietaryDays, days, new Date());
  await ctx.directory.campaigns.setProprietaryPeriod(name, days);
  audit(ctx, actor, 'embargo.change', name, {
    proprietaryDaysFrom: before.proprietaryDays ?? null, proprietaryDaysTo: days, reason: reason.trim().slice(0, 500),
    ...(effect.closesReleased ? { reembargo: true } : {}), ...(effect.opensEarlier ? { opensEarlier: true } : {}),
  });
  return ctx.directory.campaigns.require(name);
}

export async function deleteAccount(ctx: ServiceContext, actor: Actor, username: string, confirm: unknown): Promise<void> {
  const me = requireAdmin(actor);
  if (confirm !== username) throw new ValidationError('type the username to confirm the deletion');
  if (username === me) throw new ConflictError('you cannot delete your own account');
  const person = await ctx.directory.people.require(username);
  // Every identity, membership and request the deletion removes gets its own record, as it goes.
  await ctx.directory.deletePerson(username, (removed) => {
    if (removed.kind === 'identity') audit(ctx, actor, 'identity.unbind', describeIdentity(identityRef(removed.identity)), { account: username, reason: 'account deleted' });
    else if (removed.kind === 'membership') audit(ctx, actor, 'membership.remove', removed.campaign, { member: username, reason: 'account deleted' });
    else audit(ctx, actor, 'membership.withdraw', removed.campaign, { request: removed.id, requester: username, reason: 'account deleted' });
  });
  audit(ctx, actor, 'account.delete', username, { uidNumber: person.uidNumber, gidNumber: person.gidNumber, tombstone: true });
}

export async function setRole(ctx: ServiceContext, actor: Actor, username: string, role: 'admin', granted: boolean): Promise<Person> {
  const me = requireAdmin(actor);
  if (username === me && !granted) throw new ConflictError('you cannot remove your own admin role');
  if (granted) await ctx.directory.people.addRole(username, role);
  else await ctx.directory.people.removeRole(username, role);
  audit(ctx, actor, 'role.change', username, { role, granted });
  return ctx.directory.people.require(username);
}

/**
 * Revoke an identity, or lift a revocation: admins only, with a reason, audited. A revoked
 * identity stays bound to its account, so its owner cannot remove it and bind it afresh (see
 * unbindIdentity): revocation sticks until an admin lifts it.
 */
export async function setIdentityStatus(ctx: ServiceContext, actor: Actor, key: string, status: 'active' | 'revoked', reason: unknown): Promise<void> {
  requireAdmin(actor);
  if (typeof reason !== 'string' || reason.trim().length < 3) throw new ValidationError(`give a reason for ${status === 'revoked' ? 'revoking' : 'reinstating'} this identity (kept in the audit trail)`);
  const identity = await ctx.directory.identities.getByKey(key);
  if (!identity) throw new NotFoundError('no such identity');
  if (identity.status === status) throw new ConflictError(`this identity is already ${status}`);
  await ctx.directory.identities.setStatus(identityRef(identity), status);
  audit(ctx, actor, status === 'revoked' ? 'identity.revoke' : 'identity.reinstate', describeIdentity(identityRef(identity)), { account: identity.owner, reason: reason.trim().slice(0, 500) });
}
