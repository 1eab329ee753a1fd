/**
 * Accounts and their identities: registration at first login, staff provisioning, binding and
 * removing certificates and OIDC identities. One identity maps to exactly one account; the
 * directory enforces that atomically, this layer turns it into clear messages and audit records.
 */
import { z } from 'zod';
import { ConflictError, ForbiddenError, schemaIssues, ValidationError } from '../../core/errors.js';
import { describeIdentity, IdentityBoundElsewhereError, identityKey, identityRef, isActive, NAME_PATTERN, type Identity, type IdentityInput, type Person } from '../../core/directory/index.js';
import { audit, type Actor, type ServiceContext } from './context.js';
import { refuseDcacheCollisions } from './dcache-collisions.js';

export const registrationSchema = z.object({
  username: z.string().trim().regex(NAME_PATTERN, 'username: lower-case letters, digits, . _ -; starting with a letter; at most 32'),
  displayName: z.string().trim().min(1, 'full name is required').max(200).refine(noControl, 'full name contains control characters'),
  email: z.string().trim().max(254).email('a valid e-mail address is required'),
  acceptPolicy: z.string({ error: 'you must accept the usage policy' }).min(1, 'you must accept the usage policy'),
});
export type Registration = z.infer<typeof registrationSchema>;

function noControl(s: string): boolean {
  return !/[\u0000-\u001f\u007f]/.test(s);
}

/** Turn form input into a Registration, or a ValidationError listing every problem. */
export function parseRegistration(input: unknown, policyId: string): Registration {
  const r = registrationSchema.safeParse(input);
  if (!r.success) throw ValidationError.of(schemaIssues(r.error));
  if (r.data.acceptPolicy !== policyId) throw ValidationError.of([{ path: 'acceptPolicy', message: `you must accept the current usage policy (${policyId})` }]);
  return r.data;
}

/**
 * The account an identity logs in to; refuses revoked identities and suspended accounts. With
 * `login` (an interactive login, not an API call): the login is audited with subject and issuer, a
 * certificate's issuer and latest expiry are refreshed (a renewed certificate is the same identity:
 * the subject is the identity, the certificate only a credential), and a changed issuer is audited
 * as such. A different issuer can only get here for a subject its CA's namespace policy allows
 * (the chain was verified as dCache does).
 */
export async function accountForLogin(ctx: ServiceContext, input: IdentityInput, login?: Actor): Promise<Person | undefined> {
  const identity = await ctx.directory.identities.get(identityRef(input));
  if (!identity) return undefined;
  if (!isActive(identity.status)) throw new ForbiddenError(`${describeIdentity(identityRef(input))} is ${identity.status} on this portal`);
  // A half-made account of this very identity (registration cut short): no account yet; the
  // registration form takes over and `register` finishes or undoes it.
  const claim = await ctx.directory.people.readClaim(identity.owner);
  if (claim && claim.status !== 'active' && claim.pendingKey === identity.key) return undefined;
  const person = await ctx.directory.people.require(identity.owner);
  if (!isActive(person.status)) throw new ForbiddenError(`the account ${person.username} is ${person.status}; contact the data centre`);
  if (person.serviceRole !== undefined) {
    throw new ForbiddenError(`${person.username} is a ${person.serviceRole} service identity: it exists for storage only and cannot log in to the portal`);
  }
  if (login) {
    const actor = { ...login, username: person.username };
    const target = describeIdentity(identityRef(input));
    if (input.type === 'x509') {
      const { issuerChangedFrom } = await ctx.directory.identities.refreshCertificate(identity, { ...(input.issuer ? { issuer: input.issuer } : {}), ...(input.notAfter ? { notAfter: input.notAfter } : {}), ...(input.forms ? { forms: input.forms } : {}) });
      if (issuerChangedFrom) audit(ctx, actor, 'identity.issuer-change', target, { account: person.username, from: issuerChangedFrom, to: input.issuer });
    }
    audit(ctx, actor, 'account.login', target, { account: person.username, ...(input.type === 'x509' ? { issuer: input.issuer ?? null, notAfter: input.notAfter?.toISOString() ?? null } : { issuer: input.issuer }) });
  }
  return person;
}

/**
 * First login: create the account (allocating its UID once) and bind the identity used to log in.
 * Crash-safe (core/directory/people.ts create): the account stays `pending` until its private
 * group and this identity exist, and carries the identity's key meanwhile, so the next attempt
 * with the same identity finishes a half-made account of the same username or undoes one of
 * another username. If another registration bound the same identity in the meantime, the new
 * account is undone (its UID stays burnt: numbers are never reused) and the caller is told.
 */
export async function register(ctx: ServiceContext, actor: Actor, input: IdentityInput, form: Registration): Promise<Person> {
  const ref = identityRef(input);
  const key = identityKey(ref);
  const { people, identities } = ctx.directory;
  const existing = await identities.get(ref);
  if (existing) {
    const owner = await people.readClaim(existing.owner);
    if (owner === undefined && !(await ctx.directory.ldap.read(existing.ownerDn, ['1.1']))) {
      // Bound to no account at all (left by an undo that raced with a bind): it maps to nobody,
      // and whoever holds the identity may register it.
      await people.dropDanglingIdentity(key, existing.ownerDn);
    } else if (!(owner !== undefined && owner.pendingKey === key && owner.status !== 'active')) {
      throw new IdentityBoundElsewhereError(ref, existing.ownerDn);
    }
  }
  await refuseDcacheCollisions(ctx.directory, input, '', ctx.gplazmaAliases);
  // Undo half-made accounts this identity left under other usernames (a crash, then a new choice).
  for (const half of await people.halfMadeFor(key)) {
    if (half.username !== form.username) await people.abandon(half.username, key);
  }
  const person = await people.create(
    {
      username: form.username,
      displayName: form.displayName,
      cn: form.displayName,
      mail: form.email,
      policyAgreements: [form.acceptPolicy],
    },
    {
      identityKey: key,
      beforeActivate: async (pending) => {
        await identities.bind(pending.username, input);
      },
    },
  ).catch((err: unknown) => {
    if (err instanceof ConflictError && !(err instanceof IdentityBoundElsewhereError) && /is taken|never reused|name of a campaign/.test(err.message)) {
      throw new ConflictError(`the username ${form.username} is taken; choose another`, { cause: err });
    }
    throw err;
  });
  const registered = { ...actor, username: person.username };
  audit(ctx, registered, 'account.create', person.username, { uidNumber: person.uidNumber, gidNumber: person.gidNumber, policy: form.acceptPolicy });
  audit(ctx, registered, 'identity.bind', describeIdentity(ref), { account: person.username, ...(input.type === 'x509' ? { issuer: input.issuer } : {}) });
  return person;
}

/** Bind an identity to the actor's own account; idempotent for an identity it already holds. */
export async function bindIdentity(ctx: ServiceContext, actor: Actor, input: IdentityInput): Promise<Identity> {
  const username = requireLogin(actor);
  await refuseDcacheCollisions(ctx.directory, input, (await ctx.directory.people.require(username)).dn, ctx.gplazmaAliases);
  const identity = await ctx.directory.identities.bind(username, input);
  audit(ctx, actor, 'identity.bind', describeIdentity(identityRef(input)), { account: username, ...(input.type === 'x509' ? { issuer: input.issuer } : {}) });
  return identity;
}

/** Remove one of the actor's identities (admins: anyone's). The last active one stays, or nobody could log in. */
export async function unbindIdentity(ctx: ServiceContext, actor: Actor, key: string): Promise<void> {
  const username = requireLogin(actor);
  const identity = await ctx.directory.identities.getByKey(key);
  if (!identity || (identity.owner !== username && !actor.isAdmin)) throw new ForbiddenError('no such identity on your account');
  // Removing it would let its owner bind it afresh, active: a revocation sticks until an admin lifts it.
  if (identity.status === 'revoked') throw new ForbiddenError(`${describeIdentity(identityRef(identity))} has been revoked; it stays on the account until an admin reinstates it`);
  const remaining = (await ctx.directory.identities.listForPerson(identity.owner)).filter((i) => i.key !== key && isActive(i.status));
  if (remaining.length === 0 && !actor.isAdmin) {
    throw new ConflictError('this is the last identity on your account; bind another one before removing it');
  }
  await ctx.directory.identities.unbind(identity.owner, identityRef(identity));
  audit(ctx, actor, 'identity.unbind', describeIdentity(identityRef(identity)), { account: identity.owner });
}

export function requireLogin(actor: Actor): string {
  if (!actor.username) throw new ForbiddenError('log in first');
  return actor.username;
}
