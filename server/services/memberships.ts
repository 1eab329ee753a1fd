/**
 * Campaign membership: users ask to join with a justification, the campaign's PI (or an admin)
 * approves or denies, the PI removes members. Who may see what is decided here, once.
 */
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../core/errors.js';
import type { Campaign, MembershipRequest } from '../../core/directory/index.js';
import { audit, type Actor, type ServiceContext } from './context.js';
import { requireLogin } from './accounts.js';

export interface CampaignPermissions {
  isMember: boolean;
  isPi: boolean;
  isPending: boolean;
  /** members list: members, the PI and admins */
  canSeeMembers: boolean;
  /** approve/deny/remove: the PI and admins */
  canManage: boolean;
  canRequest: boolean;
}

export async function permissionsFor(ctx: ServiceContext, actor: Actor, campaign: Campaign, pending?: MembershipRequest[]): Promise<CampaignPermissions> {
  const username = actor.username;
  const isMember = !!username && campaign.members.includes(username);
  const isPi = !!username && campaign.pi === username;
  const mine = pending ?? (username ? await ctx.directory.requests.byRequester(username, 'pending') : []);
  const isPending = mine.some((r) => r.campaign === campaign.name);
  return {
    isMember,
    isPi,
    isPending,
    canSeeMembers: isMember || isPi || actor.isAdmin,
    canManage: isPi || actor.isAdmin,
    canRequest: !!username && !isMember && !isPending && campaign.state === 'open',
  };
}

export async function requestToJoin(ctx: ServiceContext, actor: Actor, campaignName: string, justification: string): Promise<MembershipRequest> {
  const username = requireLogin(actor);
  const text = justification.trim();
  if (text.length < 10 || text.length > 2000) throw new ValidationError('the justification must be 10 to 2000 characters');
  const campaign = await ctx.directory.campaigns.require(campaignName);
  const perms = await permissionsFor(ctx, actor, campaign);
  if (perms.isMember) throw new ConflictError(`you are already a member of ${campaign.name}`);
  if (perms.isPending) throw new ConflictError(`your request to join ${campaign.name} is already waiting for the PI`);
  if (campaign.state !== 'open') throw new ConflictError(`${campaign.name} is closed to new members`);
  const request = await ctx.directory.requests.create({ campaign: campaign.name, requester: username, justification: text });
  audit(ctx, actor, 'membership.request', campaign.name, { request: request.id, requester: username });
  if (campaign.pi) {
    await ctx.notify?.toPerson(campaign.pi, {
      subject: `Campaign ${campaign.name}: ${username} asks to join`,
      text: `${username} asks to join campaign ${campaign.name}, with this justification:

${indent(text)}

Approve or deny the request on the campaign's page.
`,
      why: `you are the principal investigator of campaign ${campaign.name}`,
      path: `/campaigns/${encodeURIComponent(campaign.name)}`,
    });
  }
  return request;
}

/** Pending requests the actor may decide: their campaigns' (PI), or all (admin). */
export async function decidableRequests(ctx: ServiceContext, actor: Actor, campaignName?: string): Promise<MembershipRequest[]> {
  const username = requireLogin(actor);
  const campaigns = campaignName
    ? [await ctx.directory.campaigns.require(campaignName)]
    : actor.isAdmin ? await ctx.directory.campaigns.list() : await ctx.directory.campaigns.ledBy(username);
  const out: MembershipRequest[] = [];
  for (const c of campaigns) {
    if (c.pi !== username && !actor.isAdmin) throw new ForbiddenError(`only the PI of ${c.name} sees its requests`);
    out.push(...(await ctx.directory.requests.pendingForCampaign(c.name)));
  }
  return out;
}

export async function decide(ctx: ServiceContext, actor: Actor, requestId: string, decision: 'approved' | 'denied', reason?: string, until?: Date): Promise<MembershipRequest> {
  const username = requireLogin(actor);
  const request = await ctx.directory.requests.get(requestId);
  if (!request) throw new NotFoundError('no such request');
  const campaign = await ctx.directory.campaigns.require(request.campaign);
  if (campaign.pi !== username && !actor.isAdmin) throw new ForbiddenError(`only the PI of ${campaign.name} decides its requests`);
  if (until && decision === 'approved') checkFuture(until);
  // The end before the memberUid (fail closed): also clears an end left from an earlier membership.
  if (decision === 'approved' && request.state === 'pending') await ctx.directory.campaigns.setMemberUntil(campaign.name, request.requester, until ?? null);
  const decided = await ctx.directory.requests.decide(requestId, { decision, decidedBy: username, ...(reason?.trim() ? { reason: reason.trim().slice(0, 500) } : {}) });
  audit(ctx, actor, decision === 'approved' ? 'membership.approve' : 'membership.deny', campaign.name, {
    request: requestId, requester: request.requester, ...(reason ? { reason } : {}), ...(until && decision === 'approved' ? { until: until.toISOString() } : {}),
  });
  const why = decided.decisionReason ? `\nThe reason given:\n\n${indent(decided.decisionReason)}\n` : '';
  await ctx.notify?.toPerson(request.requester, {
    subject: `Your request to join ${campaign.name} was ${decision}`,
    text: decision === 'approved'
      ? `Your request to join campaign ${campaign.name} was approved by ${username}. Its data are readable with your storage account once the storage nodes have synced (seconds).\n${untilLine(until)}${why}`
      : `Your request to join campaign ${campaign.name} was denied by ${username}.\n${why}`,
    why: `you asked to join campaign ${campaign.name}`,
    path: '/account',
  });
  return decided;
}

export async function removeMember(ctx: ServiceContext, actor: Actor, campaignName: string, member: string, reason?: string): Promise<void> {
  const username = requireLogin(actor);
  const campaign = await ctx.directory.campaigns.require(campaignName);
  if (campaign.pi !== username && !actor.isAdmin) throw new ForbiddenError(`only the PI of ${campaign.name} removes members`);
  if (member === campaign.pi) throw new ConflictError('the PI cannot be removed from their own campaign');
  if (!campaign.members.includes(member)) throw new NotFoundError(`${member} is not a member of ${campaign.name}`);
  await ctx.directory.requests.dropApprovedOf(campaign.name, member);
  await ctx.directory.campaigns.removeMember(campaign.name, member);
  const why = reason?.trim().slice(0, 500);
  audit(ctx, actor, 'membership.remove', campaign.name, { member, ...(why ? { reason: why } : {}) });
  await ctx.notify?.toPerson(member, {
    subject: `You were removed from campaign ${campaign.name}`,
    text: `${username} removed you from campaign ${campaign.name}. Its embargoed data are no longer readable with your storage account once the storage nodes have synced.\n${why ? `\nThe reason given:\n\n${indent(why)}\n` : ''}`,
    why: `you were a member of campaign ${campaign.name}`,
    path: `/campaigns/${encodeURIComponent(campaign.name)}`,
  });
}

/** A member leaves a campaign (not its PI): out of the POSIX group and the map at the next sync. */
export async function leaveCampaign(ctx: ServiceContext, actor: Actor, campaignName: string): Promise<void> {
  const username = requireLogin(actor);
  const campaign = await ctx.directory.campaigns.require(campaignName);
  if (campaign.pi === username) throw new ConflictError(`you are the PI of ${campaign.name}; ask the data centre to hand the campaign to another PI first`);
  if (!campaign.members.includes(username)) throw new NotFoundError(`you are not a member of ${campaign.name}`);
  await ctx.directory.requests.dropApprovedOf(campaign.name, username);
  await ctx.directory.campaigns.removeMember(campaign.name, username);
  audit(ctx, actor, 'membership.leave', campaign.name, { member: username });
}

/** The requester takes back a pending request. */
export async function withdrawRequest(ctx: ServiceContext, actor: Actor, requestId: string): Promise<MembershipRequest> {
  const username = requireLogin(actor);
  const request = await ctx.directory.requests.get(requestId);
  if (!request || request.requester !== username) throw new NotFoundError('no such request of yours');
  if (request.state !== 'pending') throw new ConflictError(`the request was already ${request.state}`);
  const withdrawn = await ctx.directory.requests.withdraw(requestId, username);
  audit(ctx, actor, 'membership.withdraw', request.campaign, { request: requestId, requester: username });
  return withdrawn;
}

/**
 * The PI (or an admin) adds a person directly. A pending request of that person is approved
 * instead (so it does not linger), with the reason "added by <PI>".
 */
export async function addMember(ctx: ServiceContext, actor: Actor, campaignName: string, member: string, until?: Date): Promise<void> {
  const username = requireLogin(actor);
  const campaign = await ctx.directory.campaigns.require(campaignName);
  if (campaign.pi !== username && !actor.isAdmin) throw new ForbiddenError(`only the PI of ${campaign.name} adds members`);
  const person = await ctx.directory.people.get(member.trim());
  if (!person) throw new NotFoundError(`there is no account ${JSON.stringify(member.trim())}`);
  if (person.status !== 'active') throw new ConflictError(`the account ${person.username} is ${person.status}`);
  if (person.serviceRole !== undefined && person.serviceRole !== 'replication') {
    throw new ValidationError(`${person.username} is a ${person.serviceRole} service identity and is never a member of a campaign`);
  }
  if (campaign.members.includes(person.username)) throw new ConflictError(`${person.username} is already a member of ${campaign.name}`);
  if (until) checkFuture(until);
  const pending = (await ctx.directory.requests.byRequester(person.username, 'pending')).find((q) => q.campaign === campaign.name);
  // The end before the memberUid (fail closed): also clears an end left from an earlier membership.
  await ctx.directory.campaigns.setMemberUntil(campaign.name, person.username, until ?? null);
  if (pending) await ctx.directory.requests.decide(pending.id, { decision: 'approved', decidedBy: username, reason: `added by ${username}` });
  else await ctx.directory.campaigns.addMember(campaign.name, person.username);
  audit(ctx, actor, 'membership.add', campaign.name, { member: person.username, ...(pending ? { request: pending.id } : {}), ...(until ? { until: until.toISOString() } : {}) });
  await ctx.notify?.toPerson(person.username, {
    subject: `You were added to campaign ${campaign.name}`,
    text: `${username} added you to campaign ${campaign.name}. Its data are readable with your storage account once the storage nodes have synced (seconds).\n${untilLine(until)}`,
    why: `you are now a member of campaign ${campaign.name}`,
    path: `/campaigns/${encodeURIComponent(campaign.name)}`,
  });
}

/**
 * The PI (or an admin) sets, changes or (null) removes the end of a membership. The date must be
 * in the future and the person a member; the PI's own membership has no end.
 */
export async function setMemberUntil(ctx: ServiceContext, actor: Actor, campaignName: string, member: string, until: Date | null): Promise<void> {
  const username = requireLogin(actor);
  const campaign = await ctx.directory.campaigns.require(campaignName);
  if (campaign.pi !== username && !actor.isAdmin) throw new ForbiddenError(`only the PI of ${campaign.name} sets membership ends`);
  if (!campaign.members.includes(member)) throw new NotFoundError(`${member} is not a member of ${campaign.name}`);
  if (member === campaign.pi) throw new ConflictError('the PI stays a member of their own campaign: no end date');
  if (until) checkFuture(until);
  await ctx.directory.campaigns.setMemberUntil(campaign.name, member, until);
  audit(ctx, actor, 'membership.until', campaign.name, { member, until: until ? until.toISOString() : null });
  await ctx.notify?.toPerson(member, {
    subject: `Campaign ${campaign.name}: your membership ${until ? `now ends on ${isoDay(until)}` : 'no longer has an end date'}`,
    text: until
      ? `${username} set the end of your membership of campaign ${campaign.name} to ${isoDay(until)}. On that date you leave its POSIX group and its embargoed data are no longer readable with your storage account. Ask the PI for a later date if you need longer.\n`
      : `${username} removed the end date of your membership of campaign ${campaign.name}.\n`,
    why: `you are a member of campaign ${campaign.name}`,
    path: '/account',
  });
}

/**
 * A membership end as typed in a form: a date (YYYY-MM-DD, the membership lasts through that day,
 * UTC) or a full ISO date-time; empty: no end. Must lie in the future.
 */
export function parseMemberUntil(text: string | undefined, now = new Date()): Date | undefined {
  const t = (text ?? '').trim();
  if (!t) return undefined;
  const day = /^\d{4}-\d{2}-\d{2}$/.test(t);
  const d = new Date(day ? `${t}T23:59:59Z` : t);
  if (Number.isNaN(d.getTime()) || (day && d.toISOString().slice(0, 10) !== t)) {
    throw new ValidationError('the membership end must be a date (YYYY-MM-DD)', { issues: [{ path: 'until', message: 'the membership end must be a date (YYYY-MM-DD)' }] });
  }
  return checkFuture(d, now);
}

function checkFuture(d: Date, now = new Date()): Date {
  if (Number.isNaN(d.getTime()) || d.getTime() <= now.getTime()) {
    throw new ValidationError('the membership end must be in the future', { issues: [{ path: 'until', message: 'the membership end must be in the future' }] });
  }
  return d;
}

const isoDay = (d: Date) => d.toISOString().slice(0, 10);
const untilLine = (until?: Date) => (until ? `The membership ends on ${isoDay(until)} (UTC); the PI can change that date.\n` : '');

/** Pending requests across the campaigns the actor leads (all, for an admin): for the menu count. */
export async function pendingCountFor(ctx: ServiceContext, username: string): Promise<number> {
  let n = 0;
  for (const c of await ctx.directory.campaigns.ledBy(username)) n += (await ctx.directory.requests.pendingForCampaign(c.name)).length;
  return n;
}

/** Quote a person's text in a mail, indented. */
function indent(text: string): string {
  return text.split(/\r?\n/).map((l) => `  ${l}`).join('\n');
}
