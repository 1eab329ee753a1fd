/**
 * Service identities (issue 18): accounts that exist for storage only, made by admins, each with
 * one fixed role (cgServiceRole) and every step audited. They are person entries, so UID
 * allocation, the map, NSS, identity binding and the certificate rules apply to them unchanged;
 * what differs is enforced in core/directory/campaigns.ts (membership) and accounts.ts (no portal
 * login):
 * - public-reader: the website's download identity; its own UID, in no campaign group;
 * - replication: Rucio/FTS; member of every campaign (added to new ones), never PI, never removed;
 * - instrument: writes into landing areas (given on the filesystem by the operator), no campaign.
 */
import { z } from 'zod';
import { schemaIssues, ValidationError } from '../../core/errors.js';
import { describeIdentity, identityRef, NAME_PATTERN, type Identity, type IdentityInput, type Person } from '../../core/directory/index.js';
import { SERVICE_ROLES, type ServiceRole } from '../../core/directory/model.js';
import { requireAdmin } from './administration.js';
import { audit, type Actor, type ServiceContext } from './context.js';

export const newServiceIdentitySchema = z.object({
  username: z.string().trim().regex(NAME_PATTERN, 'username: lower-case letters, digits, . _ -; starting with a letter; at most 32'),
  role: z.enum(SERVICE_ROLES as [ServiceRole, ...ServiceRole[]]),
  description: z.string().trim().min(1).max(200),
  reason: z.string().trim().min(3, 'give a reason (kept in the audit trail)').max(500),
});

/** Create a service identity; a replication identity joins every existing campaign at once. */
export async function createServiceIdentity(ctx: ServiceContext, actor: Actor, input: unknown): Promise<Person> {
  requireAdmin(actor);
  const r = newServiceIdentitySchema.safeParse(input);
  if (!r.success) throw ValidationError.of(schemaIssues(r.error));
  const { username, role, description, reason } = r.data;
  const person = await ctx.directory.people.create({ username, cn: description, sn: role, serviceRole: role });
  audit(ctx, actor, 'service.create', username, { role, uidNumber: person.uidNumber, gidNumber: person.gidNumber, reason });
  if (role === 'replication') {
    for (const campaign of await ctx.directory.campaigns.list()) {
      if (campaign.members.includes(username)) continue;
      await ctx.directory.campaigns.addMember(campaign.name, username);
      audit(ctx, actor, 'membership.add', campaign.name, { member: username, reason: 'replication service identity: member of every campaign' });
    }
  }
  return ctx.directory.people.require(username);
}

/**
 * Bind a robot/host certificate subject or an OIDC client (issuer, sub) to a service identity:
 * the ordinary binding, with its collision checks (an identity bound elsewhere is refused).
 */
export async function bindServiceIdentity(ctx: ServiceContext, actor: Actor, username: string, input: IdentityInput, reason: unknown): Promise<Identity> {
  requireAdmin(actor);
  if (typeof reason !== 'string' || reason.trim().length < 3) throw new ValidationError('give a reason (kept in the audit trail)');
  const person = await ctx.directory.people.require(username);
  if (person.serviceRole === undefined) throw new ValidationError(`${username} is a person, not a service identity; people bind their own identities`);
  const identity = await ctx.directory.identities.bind(username, input);
  audit(ctx, actor, 'identity.bind', describeIdentity(identityRef(input)), { account: username, service: person.serviceRole, reason: reason.trim().slice(0, 500) });
  return identity;
}

/** Service identities, apart from people, with their bound identities. */
export async function listServiceIdentities(ctx: ServiceContext, actor: Actor): Promise<{ person: Person; identities: Identity[] }[]> {
  requireAdmin(actor);
  const services = await ctx.directory.people.services();
  return Promise.all(services.map(async (person) => ({ person, identities: await ctx.directory.identities.listForPerson(person.username) })));
}
