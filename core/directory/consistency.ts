/**
 * The directory's consistency check (`campaign-guard doctor`, and the portal at start-up): reads
 * the whole tree once and reports every state the crash-safe operations (people.ts create/abandon,
 * directory.ts deletePerson, requests.ts decide) may leave behind, and what imported data or hand
 * edits may bring in:
 *
 *   person-without-group     an account whose private group is missing, has another gidNumber or lacks its memberUid
 *   group-without-person     a private group (ou=groups) whose person is missing
 *   identity-without-owner   an identity whose cgOwner names no person
 *   member-missing           a memberUid (campaign or private group) naming a missing or tombstoned person
 *   campaign-without-pi      a campaign whose PI is missing or tombstoned
 *   counter-behind           a counter at or below the highest number in use in its range
 *   stale-pending            an account being created (pending) or undone for longer than the limit
 *   deletion-unfinished      an account with a tombstone that still exists (deletion cut short)
 *   approved-not-member      an approved membership request whose requester is not a member
 *                            (repaired only within the pending limit of the decision)
 *   duplicate-uid / duplicate-gid   two entries with one number (imported data)
 *   service-scope            a service identity outside its role's scope: a replication identity missing from a
 *                            campaign (a creation cut short), a public-reader or instrument one in a campaign, or
 *                            one as PI (repaired, except the PI, by adding or dropping the memberUid)
 *
 * Each finding says whether `repair` may fix it without a person's judgement (`safe`); the others
 * are listed for an administrator. Repairs go through the same stores as the portal and are
 * idempotent; every LDAP value is escaped (childDn, filter).
 */
import { ConflictError, NotFoundError } from '../errors.js';
import type { LdapEntry } from '../ldap/entry.js';
import type { Directory } from './directory.js';
import { normaliseDn, personUsernameOf } from './layout.js';
import { fromGeneralizedTime } from './time.js';

export type CheckId =
  | 'person-without-group'
  | 'group-without-person'
  | 'identity-without-owner'
  | 'member-missing'
  | 'campaign-without-pi'
  | 'counter-behind'
  | 'stale-pending'
  | 'deletion-unfinished'
  | 'approved-not-member'
  | 'duplicate-uid'
  | 'duplicate-gid'
  | 'service-scope';

export interface Finding {
  check: CheckId;
  /** The entry concerned. */
  dn: string;
  detail: string;
  /** True when `repair` fixes it without a person's judgement. */
  safe: boolean;
}

export interface CheckOptions {
  /** Accounts pending (being created or undone) for longer than this are reported (default 1 h). */
  pendingMaxAgeMs?: number;
  now?: Date;
}

export interface RepairOutcome {
  fixed: { finding: Finding; action: string }[];
  /** Needs an administrator: not safe to repair automatically, or the repair was refused. */
  needsPerson: { finding: Finding; reason: string }[];
}

interface Snapshot {
  people: LdapEntry[];
  groups: LdapEntry[];
  campaigns: LdapEntry[];
  identities: LdapEntry[];
  tombstones: LdapEntry[];
  approved: LdapEntry[];
  counters: Map<'uid' | 'gid', number | undefined>;
}

const DEFAULT_PENDING_MAX_AGE_MS = 60 * 60 * 1000;

async function readAll(dir: Directory, base: string, filter: string, attributes: string[]): Promise<LdapEntry[]> {
  const out: LdapEntry[] = [];
  for await (const page of dir.ldap.searchPages(base, { scope: 'one', filter, attributes, pageSize: 1000 })) out.push(...page);
  return out;
}

async function snapshot(dir: Directory): Promise<Snapshot> {
  const l = dir.layout;
  const [people, groups, campaigns, identities, tombstones, approved, uid, gid] = await Promise.all([
    readAll(dir, l.people, '(objectClass=posixAccount)', ['uid', 'uidNumber', 'gidNumber', 'voPersonStatus', 'cgPendingIdentityKey', 'createTimestamp', 'cgServiceRole']),
    readAll(dir, l.groups, '(objectClass=posixGroup)', ['cn', 'gidNumber', 'memberUid']),
    readAll(dir, l.campaigns, '(objectClass=posixGroup)', ['cn', 'gidNumber', 'memberUid', 'cgPrincipalInvestigator']),
    readAll(dir, l.identities, '(objectClass=cgIdentity)', ['cgOwner']),
    readAll(dir, l.tombstones, '(objectClass=cgTombstone)', ['uid', 'uidNumber', 'gidNumber']),
    readAll(dir, l.requests, '(&(objectClass=cgMembershipRequest)(cgRequestState=approved))', ['cgCampaign', 'cgRequester', 'cgDecidedAt']),
    dir.ldap.read(l.counterDn('uid'), ['cgNextValue']),
    dir.ldap.read(l.counterDn('gid'), ['cgNextValue']),
  ]);
  return { people, groups, campaigns, identities, tombstones, approved, counters: new Map([['uid', uid?.getInt('cgNextValue')], ['gid', gid?.getInt('cgNextValue')]]) };
}

const lower = (s: string | undefined) => (s ?? '').trim().toLowerCase();

/** Every inconsistency of the directory, sorted by check then DN. */
export async function checkDirectory(dir: Directory, options: CheckOptions = {}): Promise<Finding[]> {
  const now = options.now ?? new Date();
  const maxAge = options.pendingMaxAgeMs ?? DEFAULT_PENDING_MAX_AGE_MS;
  const l = dir.layout;
  const s = await snapshot(dir);
  const findings: Finding[] = [];
  const add = (check: CheckId, dn: string, detail: string, safe: boolean) => findings.push({ check, dn, detail, safe });

  const tombstoned = new Set(s.tombstones.map((t) => lower(t.get('uid'))));
  const people = new Map(s.people.map((p) => [lower(p.get('uid') ?? l.usernameOf(p.dn)), p]));
  const groups = new Map(s.groups.map((g) => [lower(g.get('cn')), g]));
  const campaigns = new Map(s.campaigns.map((c) => [lower(c.get('cn')), c]));
  const livePerson = (name: string) => people.has(name) && !tombstoned.has(name);

  for (const [name, p] of people) {
    const status = lower(p.get('voPersonStatus') ?? 'active');
    const created = p.get('createTimestamp');
    const age = created ? now.getTime() - fromGeneralizedTime(created).getTime() : Infinity;
    if (tombstoned.has(name)) {
      add('deletion-unfinished', p.dn, `${name} has a tombstone but its entry is still there (a deletion was cut short)`, true);
      continue;
    }
    if (status === 'pending' || (status === 'deleted' && p.has('cgPendingIdentityKey'))) {
      if (age > maxAge) add('stale-pending', p.dn, `${name} has been ${status === 'pending' ? 'half-made (pending)' : 'half-undone'} for ${Math.round(age / 60000)} min`, true);
      continue; // in progress: its group may not exist yet
    }
    const group = groups.get(name);
    const gid = p.get('gidNumber');
    if (!group) add('person-without-group', p.dn, `${name} has no private group cn=${name} (gidNumber ${gid})`, true);
    else if (group.get('gidNumber') !== gid) add('person-without-group', p.dn, `${name}'s private group has gidNumber ${group.get('gidNumber')}, the account ${gid}`, false);
    else if (!group.getAll('memberUid').map(lower).includes(name)) add('person-without-group', p.dn, `${name} is not memberUid of its private group`, true);
  }

  for (const [name, g] of groups) {
    if (!people.has(name)) add('group-without-person', g.dn, `private group ${name} (gidNumber ${g.get('gidNumber')}) has no person${tombstoned.has(name) ? ' (deleted account)' : ''}`, tombstoned.has(name));
    for (const m of g.getAll('memberUid').map(lower)) {
      if (m !== name && !livePerson(m)) add('member-missing', g.dn, `memberUid ${m} of private group ${name} names ${tombstoned.has(m) ? 'a deleted' : 'no'} account`, true);
    }
  }

  for (const [name, c] of campaigns) {
    const piDn = c.get('cgPrincipalInvestigator');
    const pi = piDn ? personUsernameOf(piDn, l) : undefined;
    if (piDn !== undefined && (!pi || !livePerson(pi))) add('campaign-without-pi', c.dn, `the PI of campaign ${name} (${piDn}) is ${pi && tombstoned.has(pi) ? 'deleted' : 'missing'}: hand the campaign over`, false);
    for (const m of c.getAll('memberUid').map(lower)) {
      if (!livePerson(m) && m !== pi) add('member-missing', c.dn, `memberUid ${m} of campaign ${name} names ${tombstoned.has(m) ? 'a deleted' : 'no'} account`, true);
    }
  }

  for (const [name, p] of people) {
    const role = lower(p.get('cgServiceRole'));
    const status = lower(p.get('voPersonStatus') ?? 'active');
    if (!role || tombstoned.has(name) || status === 'pending' || status === 'deleted') continue;
    for (const [cname, c] of campaigns) {
      const member = c.getAll('memberUid').map(lower).includes(name);
      const piDn = c.get('cgPrincipalInvestigator');
      if (piDn && personUsernameOf(piDn, l) === name) add('service-scope', c.dn, `service identity ${name} (${role}) is the PI of campaign ${cname}: hand the campaign over`, false);
      else if (role === 'replication' && !member) add('service-scope', c.dn, `replication identity ${name} is not a member of campaign ${cname}`, true);
      else if (role !== 'replication' && member) add('service-scope', c.dn, `${role} identity ${name} is a member of campaign ${cname}`, true);
    }
  }

  for (const i of s.identities) {
    const ownerDn = i.get('cgOwner') ?? '';
    const owner = personUsernameOf(ownerDn, l);
    if (!owner || !people.has(owner)) {
      const dead = owner !== undefined && tombstoned.has(owner);
      add('identity-without-owner', i.dn, `identity's owner ${ownerDn || '(none)'} is ${dead ? 'a deleted account' : 'missing'}`, dead);
    }
  }

  for (const r of s.approved) {
    const requester = personUsernameOf(r.get('cgRequester') ?? '', l);
    const campaign = campaigns.get(lower(l.campaignNameOf(r.get('cgCampaign') ?? '')));
    if (!requester || !campaign || !livePerson(requester)) continue;
    if (!campaign.getAll('memberUid').map(lower).includes(requester)) {
      // Repaired (member added) only when the approval is recent, i.e. cut short: an older one may
      // have been ended on purpose (by hand in LDAP, or before ended memberships dropped their
      // request), and repair never grants access a person should judge.
      const decided = r.get('cgDecidedAt');
      const recent = decided !== undefined && now.getTime() - fromGeneralizedTime(decided).getTime() <= maxAge;
      add('approved-not-member', r.dn, `${requester}'s approved request to join ${campaign.get('cn')} left no memberUid` +
        (recent ? '' : ` (decided ${decided ?? 'at an unknown time'}: add the member on the campaign page if the approval was cut short, or delete the request if the membership was ended on purpose)`), recent);
    }
  }

  // Numbers: duplicates and counters. Tombstones keep the numbers of deleted accounts.
  const uidOwners = new Map<number, string[]>();
  const gidOwners = new Map<number, string[]>();
  const note = (m: Map<number, string[]>, n: number | undefined, dn: string) => {
    if (n !== undefined) m.set(n, [...(m.get(n) ?? []), dn]);
  };
  for (const p of s.people) if (!tombstoned.has(lower(p.get('uid')))) note(uidOwners, p.getInt('uidNumber'), p.dn);
  for (const t of s.tombstones) note(uidOwners, t.getInt('uidNumber'), t.dn);
  for (const g of s.groups) if (!tombstoned.has(lower(g.get('cn')))) note(gidOwners, g.getInt('gidNumber'), g.dn);
  for (const c of s.campaigns) note(gidOwners, c.getInt('gidNumber'), c.dn);
  for (const t of s.tombstones) if (!groups.has(lower(t.get('uid')))) note(gidOwners, t.getInt('gidNumber'), t.dn);
  for (const [n, dns] of uidOwners) if (dns.length > 1) add('duplicate-uid', dns[0]!, `uidNumber ${n} is held by ${dns.join('; ')}`, false);
  for (const [n, dns] of gidOwners) if (dns.length > 1) add('duplicate-gid', dns[0]!, `gidNumber ${n} is held by ${dns.join('; ')}`, false);
  // Pending people hold numbers too (their group may not exist yet).
  for (const p of s.people) note(gidOwners, p.getInt('gidNumber'), p.dn);
  for (const kind of ['uid', 'gid'] as const) {
    const range = dir.allocator.range(kind);
    const used = [...(kind === 'uid' ? uidOwners : gidOwners).keys()].filter((n) => n >= range.min && n <= range.max);
    if (!used.length) continue;
    const highest = Math.max(...used);
    const next = s.counters.get(kind);
    if (next === undefined || next <= highest) {
      add('counter-behind', l.counterDn(kind), `the ${kind}Number counter is ${next ?? 'missing'}, but ${highest} is in use: it would hand out used numbers`, true);
    }
  }

  const order = (f: Finding) => `${f.check}\u0000${normaliseDn(f.dn)}`;
  return findings.sort((a, b) => order(a).localeCompare(order(b)));
}

/** Repair the safe findings; list the others (and refused repairs) for an administrator. */
export async function repairDirectory(dir: Directory, findings: Finding[]): Promise<RepairOutcome> {
  const outcome: RepairOutcome = { fixed: [], needsPerson: [] };
  const l = dir.layout;
  for (const finding of findings) {
    if (!finding.safe) {
      outcome.needsPerson.push({ finding, reason: 'needs an administrator\'s decision' });
      continue;
    }
    try {
      const action = await repairOne(dir, finding);
      outcome.fixed.push({ finding, action });
    } catch (err) {
      outcome.needsPerson.push({ finding, reason: `repair refused: ${(err as Error).message}` });
    }
  }
  return outcome;

  async function repairOne(d: Directory, f: Finding): Promise<string> {
    switch (f.check) {
      case 'deletion-unfinished': {
        const name = l.usernameOf(f.dn).toLowerCase();
        await d.deletePerson(name);
        return `finished the deletion of ${name}`;
      }
      case 'stale-pending': {
        const name = l.usernameOf(f.dn).toLowerCase();
        if (!(await d.people.abandon(name))) throw new ConflictError(`${name} became active meanwhile`);
        return `undid the half-made account ${name} (its numbers stay spent)`;
      }
      case 'person-without-group': {
        const name = l.usernameOf(f.dn).toLowerCase();
        const person = await d.people.require(name);
        const groupDn = l.privateGroupDn(name);
        const group = await d.ldap.read(groupDn, ['gidNumber']);
        if (!group) {
          // integer value, constant attribute: nothing to escape
          const holders = await d.ldap.search(l.baseDn, { scope: 'sub', filter: `(&(gidNumber=${Math.trunc(person.gidNumber)})(!(objectClass=posixAccount)))`, attributes: ['1.1'] });
          if (holders.length) throw new ConflictError(`gidNumber ${person.gidNumber} belongs to ${holders[0]!.dn}`);
          await d.ldap.add(groupDn, { objectClass: ['top', 'posixGroup'], cn: name, gidNumber: String(person.gidNumber), memberUid: name, description: `private group of ${name}` });
          return `created the private group of ${name} (gidNumber ${person.gidNumber})`;
        }
        await d.ldap.modify(groupDn, [{ operation: 'add', attribute: 'memberUid', values: [name] }]).catch(ignoreConflict);
        return `added memberUid ${name} to its private group`;
      }
      case 'group-without-person': {
        await d.ldap.delete(f.dn).catch(ignoreNotFound);
        return `removed the private group of a deleted account`;
      }
      case 'member-missing': {
        const m = /memberUid (\S+) of/.exec(f.detail)?.[1];
        if (!m) throw new Error('unreadable finding');
        await d.ldap.modify(f.dn, [{ operation: 'delete', attribute: 'memberUid', values: [m] }]).catch(ignoreConflict);
        return `removed memberUid ${m}`;
      }
      case 'identity-without-owner': {
        await d.ldap.delete(f.dn).catch(ignoreNotFound);
        return 'removed the identity of a deleted account';
      }
      case 'approved-not-member': {
        const request = await d.ldap.read(f.dn, ['cgCampaign', 'cgRequester']);
        const requester = personUsernameOf(request?.get('cgRequester') ?? '', l);
        const campaign = l.campaignNameOf(request?.get('cgCampaign') ?? '');
        if (!requester) throw new NotFoundError('the request is gone');
        await d.campaigns.addMember(campaign, requester);
        return `added ${requester} to ${campaign}`;
      }
      case 'service-scope': {
        const m = /^(replication|public-reader|instrument) identity (\S+) is (not )?a member of campaign (\S+)$/.exec(f.detail);
        if (!m) throw new Error('unreadable finding');
        const [, role, name, not, campaign] = m as unknown as [string, string, string, string | undefined, string];
        const person = await d.people.require(name);
        if (person.serviceRole !== role) throw new ConflictError(`${name} is no longer a ${role} identity`);
        if (not) {
          await d.campaigns.addMember(campaign, name);
          return `added replication identity ${name} to ${campaign}`;
        }
        await d.campaigns.dropMemberUid(campaign, name);
        return `removed ${role} identity ${name} from ${campaign}`;
      }
      case 'counter-behind': {
        const kind = normaliseDn(f.dn) === normaliseDn(l.counterDn('uid')) ? 'uid' : 'gid';
        return `moved the ${kind}Number counter to ${await advanceCounter(d, kind)}`;
      }
      default:
        throw new Error(`no automatic repair for ${f.check}`);
    }
  }
}

/** Move a counter past every number in use in its range, by compare-and-swap (re-read on a lost race). */
async function advanceCounter(dir: Directory, kind: 'uid' | 'gid'): Promise<number> {
  const attr = kind === 'uid' ? 'uidNumber' : 'gidNumber';
  const range = dir.allocator.range(kind);
  const dn = dir.layout.counterDn(kind);
  for (let attempt = 0; attempt < 50; attempt++) {
    const used = await dir.ldap.search(dir.layout.baseDn, { scope: 'sub', filter: `(&(${attr}>=${range.min})(${attr}<=${range.max}))`, attributes: [attr], pageSize: 1000 });
    const highest = Math.max(range.min - 1, ...used.map((e) => e.getInt(attr) ?? range.min - 1));
    const current = (await dir.ldap.read(dn, ['cgNextValue']))?.getInt('cgNextValue');
    const target = highest + 1;
    if (current !== undefined && current > highest) return current;
    try {
      if (current === undefined) await dir.ldap.add(dn, { objectClass: ['top', 'cgCounter'], cn: attr, cgNextValue: String(target) });
      else {
        await dir.ldap.modify(dn, [
          { operation: 'delete', attribute: 'cgNextValue', values: [String(current)] },
          { operation: 'add', attribute: 'cgNextValue', values: [String(target)] },
        ]);
      }
      return target;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err; // lost a race with an allocation: re-read
    }
  }
  throw new ConflictError(`the ${kind}Number counter kept moving`);
}

function ignoreConflict(err: unknown): void {
  if (!(err instanceof ConflictError)) throw err;
}

function ignoreNotFound(err: unknown): void {
  if (!(err instanceof NotFoundError)) throw err;
}

/** One line per check with a count, for logs: "2 person-without-group, 1 counter-behind" or "consistent". */
export function summarise(findings: Finding[]): string {
  if (!findings.length) return 'consistent';
  const counts = new Map<CheckId, number>();
  for (const f of findings) counts.set(f.check, (counts.get(f.check) ?? 0) + 1);
  return [...counts].map(([c, n]) => `${n} ${c}`).join(', ');
}
