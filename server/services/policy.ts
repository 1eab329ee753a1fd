/**
 * The usage policy: its text, who accepted which version and when. Each acceptance is one value
 * of voPersonPolicyAgreement, "<version> <ISO 8601 time>" (older entries may hold the version
 * alone), and an audit record. A new version (portal.policy.id) is not accepted by anyone yet, so
 * everyone meets the policy page at their next request until they accept it.
 */
import { readFileSync } from 'node:fs';
import type { Person } from '../../core/directory/index.js';
import { ValidationError } from '../../core/errors.js';
import { audit, type Actor, type ServiceContext } from './context.js';
import { requireLogin } from './accounts.js';

export interface PolicyConfig {
  id: string;
  url: string;
  title: string;
  text?: string | undefined;
  file?: string | undefined;
}

export interface Agreement {
  version: string;
  /** undefined for agreements recorded without a time */
  at?: Date;
}

/** The text people read: inline, from the file (read on each call, so an edit needs no restart), or a default. */
export function policyText(p: PolicyConfig): string {
  if (p.text) return p.text;
  if (p.file) return readFileSync(p.file, 'utf8');
  return DEFAULT_POLICY;
}

export function parseAgreement(value: string): Agreement {
  const [version = '', time] = value.trim().split(/\s+/, 2);
  const at = time ? new Date(time) : undefined;
  return { version, ...(at && !Number.isNaN(at.getTime()) ? { at } : {}) };
}

/** The person's agreement to `version`, latest first, or undefined. */
export function agreementTo(person: Pick<Person, 'policyAgreements'>, version: string): Agreement | undefined {
  return person.policyAgreements.map(parseAgreement).filter((a) => a.version === version)
    .sort((a, b) => (b.at?.getTime() ?? 0) - (a.at?.getTime() ?? 0))[0];
}

/** The latest agreement of any version (for the account page). */
export function latestAgreement(person: Pick<Person, 'policyAgreements'>): Agreement | undefined {
  return person.policyAgreements.map(parseAgreement).sort((a, b) => (b.at?.getTime() ?? 0) - (a.at?.getTime() ?? 0))[0];
}

/** Record that the actor accepted `accepted`, which must be the current version. */
export async function acceptPolicy(ctx: ServiceContext, actor: Actor, current: string, accepted: unknown, now = new Date()): Promise<Agreement> {
  const username = requireLogin(actor);
  if (accepted !== current) throw new ValidationError(`you must accept the current usage policy (${current})`);
  const person = await ctx.directory.people.require(username);
  const at = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const value = `${current} ${at.toISOString().replace('.000Z', 'Z')}`;
  // Plain version values of this version are superseded by the timed one; other versions stay as history.
  const kept = person.policyAgreements.filter((v) => v.trim() !== current);
  await ctx.directory.people.update(username, { policyAgreements: [...kept, value] });
  audit(ctx, actor, 'policy.accept', username, { policy: current, at: at.toISOString() });
  return { version: current, at };
}

const DEFAULT_POLICY = `By using this service you agree:

1. You use the storage and its data only for the research of the campaigns you are a member of.
2. You keep your certificates, private keys and identity-provider logins to yourself; you report their loss or misuse to the data centre at once.
3. You do not pass on data under embargo to anyone who is not a member of its campaign.
4. The data centre records your logins and changes to your account (an audit trail) to run and secure the service, and may suspend accounts that break these rules.
5. Your name, e-mail address and identities are kept for as long as you have an account, and are used only to run the service and to tell you about it.
`;
