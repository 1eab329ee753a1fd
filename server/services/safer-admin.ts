/**
 * Safer admin actions: closing, reopening and suspending take a reason (kept in the audit trail);
 * an embargo change that opens data earlier (lifted, shortened or set in the past), or that closes
 * data already released (re-embargo: copies made meanwhile cannot be recalled), needs a second,
 * explicit confirmation. The plain operations stay in administration.ts.
 */
import { ConflictError, ValidationError } from '../../core/errors.js';
import { parseEmbargoDate, parseProprietaryPeriod, requireAdmin } from './administration.js';
import { audit, type Actor, type ServiceContext } from './context.js';
import { openingOf, periodChangeOf, type EmbargoOpening } from './embargo-opening.js';

function reasonOf(reason: unknown, what: string): string {
  const r = typeof reason === 'string' ? reason.trim() : '';
  if (r.length < 3) throw new ValidationError(`give a reason for ${what} (kept in the audit trail)`);
  return r.slice(0, 500);
}

export async function closeCampaignFor(ctx: ServiceContext, actor: Actor, name: string, reason: unknown): Promise<void> {
  requireAdmin(actor);
  const why = reasonOf(reason, 'closing the campaign');
  const c = await ctx.directory.campaigns.require(name);
  if (c.state === 'closed') throw new ConflictError(`${name} is already closed`);
  await ctx.directory.campaigns.close(name);
  audit(ctx, actor, 'campaign.close', name, { reason: why });
}

export async function reopenCampaign(ctx: ServiceContext, actor: Actor, name: string, reason: unknown): Promise<void> {
  requireAdmin(actor);
  const why = reasonOf(reason, 'reopening the campaign');
  const c = await ctx.directory.campaigns.require(name);
  if (c.state !== 'closed') throw new ConflictError(`${name} is open`);
  await ctx.directory.campaigns.reopen(name);
  audit(ctx, actor, 'campaign.reopen', name, { reason: why });
}

export async function setAccountStatusFor(ctx: ServiceContext, actor: Actor, username: string, status: 'active' | 'suspended', reason: unknown): Promise<void> {
  const me = requireAdmin(actor);
  const why = reasonOf(reason, status === 'suspended' ? 'the suspension' : 'the reactivation');
  if (username === me && status === 'suspended') throw new ConflictError('you cannot suspend your own account');
  await ctx.directory.people.require(username);
  await ctx.directory.people.setStatus(username, status);
  audit(ctx, actor, status === 'active' ? 'account.reactivate' : 'account.suspend', username, { reason: why });
}

/** What an embargo change would do to campaign `name`'s data (embargo-opening.ts). */
export async function embargoOpening(ctx: ServiceContext, name: string, value: unknown, now = new Date()): Promise<EmbargoOpening> {
  const c = await ctx.directory.campaigns.require(name);
  return openingOf(c.embargoEnd, parseEmbargoDate(value), now);
}

/** What a change of the proprietary period (rolling release) would do to campaign `name`'s data (embargo-opening.ts). */
export async function periodOpening(ctx: ServiceContext, name: string, value: unknown, now = new Date()): Promise<EmbargoOpening> {
  const c = await ctx.directory.campaigns.require(name);
  return periodChangeOf(c.embargoEnd, c.proprietaryDays, parseProprietaryPeriod(value), now);
}
