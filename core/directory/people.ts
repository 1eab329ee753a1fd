/**
 * People: inetOrgPerson + posixAccount + cgPerson under ou=people, each with a private posixGroup
 * under ou=groups. The username is claimed atomically by the LDAP add of uid=<username>; deleted
 * accounts leave a tombstone (ou=tombstones) so their username and numbers never come back.
 */
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { Modification } from '../ldap/connection.js';
import { filter } from '../ldap/escape.js';
import type { DirectoryContext } from './context.js';
import { decodePerson, PERSON_ATTRIBUTES } from './decode.js';
import { personUsernameOf } from './layout.js';
import { decodeAll, decodeOne } from './decoded.js';
import { isServiceRole, type NewPerson, type Person, type PersonStatus, type PersonUpdate, type ServiceRole } from './model.js';
import { fromGeneralizedTime, toGeneralizedTime } from './time.js';
import { checkLoginShell, checkMail, checkRole, checkText, checkUsername } from './validate.js';

export interface CreateOptions {
  /** The cgIdentityKey of the identity registering the account: lets its next attempt finish or undo a half-made one. */
  identityKey?: string;
  /** Runs while the account is still pending, after its private group exists (registration binds the identity here). */
  beforeActivate?: (person: Person) => Promise<void>;
}

/** What a person entry says about its creation, read raw (see PeopleStore.readClaim). */
export interface Claim {
  status: string;
  pendingKey?: string;
  uidNumber?: number;
  gidNumber?: number;
  createdAt?: Date;
}

export class PeopleStore {
  constructor(private readonly ctx: DirectoryContext) {}

  /**
   * Create an account with a fresh uidNumber and a private group with a fresh gidNumber, in an
   * order that leaves the directory valid wherever the process dies (docs: ldap-schema/README.md,
   * "Multi-entry operations"):
   *
   *   1. uid counter, 2. gid counter (compare-and-swap; a crash burns the numbers, nothing else);
   *   3. the person, `voPersonStatus: pending` (never mapped, cannot log in, NSS does not see it),
   *      carrying `cgPendingIdentityKey` = the registering identity's key when there is one;
   *   4. the private group; 5. `beforeActivate` (registration binds the identity here);
   *   6. pending → active by compare-and-swap, dropping cgPendingIdentityKey in the same modify.
   *
   * A half-made account (pending) is finished by the next create of the same username with the
   * same identity key (`resume`), or undone by `abandon`. Without an identity key nobody can prove
   * a half-made account theirs: `campaign-guard doctor --fix` abandons it once it is old.
   */
  async create(input: NewPerson, options: CreateOptions = {}): Promise<Person> {
    const { ldap, layout, allocator } = this.ctx;
    const username = checkUsername(input.username);
    const displayName = input.displayName === undefined ? undefined : checkText('displayName', input.displayName);
    const cn = checkText('cn', input.cn ?? displayName ?? username);
    const sn = checkText('sn', input.sn ?? cn.trim().split(/\s+/).pop()!);
    const givenName = input.givenName === undefined ? undefined : checkText('givenName', input.givenName);
    const mail = input.mail === undefined ? undefined : checkMail(input.mail);
    const loginShell = checkLoginShell(input.loginShell ?? this.ctx.defaultLoginShell);
    const roles = (input.roles ?? []).map(checkRole);
    const policies = (input.policyAgreements ?? []).map((p) => checkText('policyAgreement', p));
    const key = options.identityKey;
    if (key !== undefined && !/^[0-9a-f]{64}$/.test(key)) throw new ValidationError('invalid identity key');

    const dn = layout.personDn(username);
    // A half-made account of the same identity under this name: finish it (its numbers are kept).
    let claim = await this.readClaim(username);
    if (claim && key !== undefined && claim.pendingKey === key && claim.status === 'deleted') {
      await this.abandon(username, key); // an undo cut short: complete it, then start afresh
      claim = undefined;
    }
    let resumed = claim !== undefined && key !== undefined && claim.pendingKey === key && claim.status === 'pending';
    await allocator.assertDesignatedWriter(`the username ${username}`);
    if (!resumed) {
      // Fast refusals (the atomic checks follow below).
      await this.refuseUsedName(username);
      const uidNumber = await allocator.allocate('uid');
      const gidNumber = await allocator.allocate('gid');
      try {
        await ldap.add(dn, {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'posixAccount', 'cgPerson'],
          uid: username,
          cn,
          sn,
          ...(givenName ? { givenName } : {}),
          ...(displayName ? { displayName } : {}),
          ...(mail ? { mail } : {}),
          uidNumber: String(uidNumber),
          gidNumber: String(gidNumber),
          homeDirectory: `${this.ctx.homeBase.replace(/\/$/, '')}/${username}`,
          loginShell,
          voPersonStatus: 'pending',
          voPersonPolicyAgreement: policies,
          cgRole: roles,
          ...(input.serviceRole !== undefined ? { cgServiceRole: checkServiceRole(input.serviceRole) } : {}),
          ...(key !== undefined ? { cgPendingIdentityKey: key } : {}),
        });
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        // A concurrent attempt of the same identity created it first: go on with theirs.
        claim = await this.readClaim(username);
        if (!(claim && key !== undefined && claim.pendingKey === key && claim.status === 'pending')) {
          throw new ConflictError(`username ${username} is taken`, { cause: err });
        }
        resumed = true;
      }
    }
    const person = await this.require(username);
    try {
      // A delete of the same name that raced with us wrote its tombstone before removing the
      // entry, so checking after our add catches it.
      if (await ldap.read(layout.tombstoneDn(username), ['1.1'])) {
        throw new ConflictError(`username ${username} belonged to a deleted account and is never reused`);
      }
      await this.ensurePrivateGroup(username, person.gidNumber);
      if (options.beforeActivate) await options.beforeActivate(person);
    } catch (err) {
      // Undo; the numbers stay spent. A failed undo leaves a pending account: never mapped,
      // finished or undone by the next attempt, reported by doctor.
      await this.abandon(username, key).catch(() => undefined);
      throw err;
    }
    await this.activate(username, key);
    return (await this.get(username))!;
  }

  /** The private group cn=<username> with this gidNumber and memberUid; an existing one must be exactly that. */
  private async ensurePrivateGroup(username: string, gidNumber: number): Promise<void> {
    const { ldap, layout } = this.ctx;
    const groupDn = layout.privateGroupDn(username);
    try {
      await ldap.add(groupDn, {
        objectClass: ['top', 'posixGroup'],
        cn: username,
        gidNumber: String(gidNumber),
        memberUid: username,
        description: `private group of ${username}`,
      });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      const group = await ldap.read(groupDn, ['gidNumber', 'memberUid']);
      if (group?.getInt('gidNumber') === gidNumber) {
        if (!group.getAll('memberUid').includes(username)) {
          await ldap.modify(groupDn, [{ operation: 'add', attribute: 'memberUid', values: [username] }]).catch((e: unknown) => {
            if (!(e instanceof ConflictError)) throw e;
          });
        }
        return; // ours, from an earlier attempt
      }
      throw new ConflictError(`a group named ${username} already exists`, { cause: err });
    }
  }

  /** pending → active in one compare-and-swap; fails if the half-made account was abandoned meanwhile. */
  private async activate(username: string, key: string | undefined): Promise<void> {
    const dn = this.ctx.layout.personDn(username);
    try {
      await this.ctx.ldap.modify(dn, [
        { operation: 'delete', attribute: 'voPersonStatus', values: ['pending'] },
        { operation: 'add', attribute: 'voPersonStatus', values: ['active'] },
        { operation: 'replace', attribute: 'cgPendingIdentityKey', values: [] },
      ]);
    } catch (err) {
      if (!(err instanceof ConflictError || err instanceof NotFoundError)) throw err;
      const claim = await this.readClaim(username);
      if (claim?.status === 'active' && (key === undefined || claim.pendingKey === undefined)) return; // a concurrent attempt finished it
      throw new ConflictError(`the registration of ${username} was undone concurrently; try again`, { cause: err });
    }
  }

  /**
   * Undo a half-made (pending) account: mark it `deleted` by compare-and-swap (so a concurrent
   * attempt cannot activate it any more), then remove its identity (if `key` names one it owns),
   * its private group (if it has the account's gidNumber) and the entry. No tombstone: the account
   * was never usable, so its name is free again; its numbers stay spent (the counters only grow).
   * Refuses (returns false) when the account is active. Idempotent; a crash anywhere leaves a
   * `deleted`/pending entry that the next call (or doctor --fix) finishes.
   */
  async abandon(username: string, key?: string): Promise<boolean> {
    const { ldap, layout } = this.ctx;
    const dn = layout.personDn(checkUsername(username));
    const claim = await this.readClaim(username);
    if (!claim) {
      // Gone already; an identity bound to it in a race with an earlier undo would dangle.
      if (key !== undefined) await this.dropDanglingIdentity(key, dn);
      return true;
    }
    // A tombstone means a real deletion (Directory.deletePerson) is under way: not ours to undo.
    if (await ldap.read(layout.tombstoneDn(username), ['1.1'])) return false;
    if (claim.status === 'pending') {
      await this.ctx.allocator.assertDesignatedWriter(`undoing the half-made account ${username}`);
      await ldap
        .modify(dn, [
          { operation: 'delete', attribute: 'voPersonStatus', values: ['pending'] },
          { operation: 'add', attribute: 'voPersonStatus', values: ['deleted'] },
        ])
        .catch((err: unknown) => {
          if (!(err instanceof ConflictError)) throw err;
        });
      const now = await this.readClaim(username);
      if (!now) return true;
      if (now.status !== 'deleted') return false;
    } else if (claim.status !== 'deleted') return false;
    const keys = new Set([key, claim.pendingKey].filter((k): k is string => k !== undefined));
    for (const k of keys) await this.dropDanglingIdentity(k, dn);
    for (const identity of await ldap.search(layout.identities, { scope: 'one', filter: filter`(&(objectClass=cgIdentity)(cgOwner=${dn}))`, attributes: ['1.1'] })) {
      await ldap.delete(identity.dn).catch(ignoreNotFound);
    }
    const group = await ldap.read(layout.privateGroupDn(username), ['gidNumber']);
    if (group && group.getInt('gidNumber') === claim.gidNumber) await ldap.delete(group.dn).catch(ignoreNotFound);
    await ldap.delete(dn).catch(ignoreNotFound);
    return true;
  }

  /** Remove the identity entry of `key` if (and only if) its cgOwner is `ownerDn`. */
  async dropDanglingIdentity(key: string, ownerDn: string): Promise<void> {
    const idDn = this.ctx.layout.identityDn(key);
    const owned = await this.ctx.ldap.compare(idDn, 'cgOwner', ownerDn).catch((err: unknown) => {
      if (err instanceof NotFoundError) return false;
      throw err;
    });
    if (owned) await this.ctx.ldap.delete(idDn).catch(ignoreNotFound);
  }

  /** Half-made accounts (pending or being undone) started by this identity key. */
  async halfMadeFor(key: string): Promise<{ username: string; status: string }[]> {
    if (!/^[0-9a-f]{64}$/.test(key)) return [];
    const entries = await this.ctx.ldap.search(this.ctx.layout.people, {
      scope: 'one',
      filter: filter`(&(objectClass=posixAccount)(cgPendingIdentityKey=${key}))`,
      attributes: ['uid', 'voPersonStatus'],
    });
    return entries
      .map((e) => ({ username: this.ctx.layout.usernameOf(e.dn).toLowerCase(), status: (e.get('voPersonStatus') ?? 'active').toLowerCase() }))
      .filter((p) => p.status !== 'active');
  }

  /** The raw claim on a username: status (lower case, absent = active), pending key, numbers. */
  async readClaim(username: string): Promise<Claim | undefined> {
    if (!NAME_OK(username)) return undefined;
    const e = await this.ctx.ldap.read(this.ctx.layout.personDn(username), ['voPersonStatus', 'cgPendingIdentityKey', 'uidNumber', 'gidNumber', 'createTimestamp']);
    if (!e) return undefined;
    const pendingKey = e.get('cgPendingIdentityKey');
    const uidNumber = e.getInt('uidNumber');
    const gidNumber = e.getInt('gidNumber');
    const created = e.get('createTimestamp');
    return {
      status: (e.get('voPersonStatus') ?? 'active').trim().toLowerCase(),
      ...(pendingKey !== undefined ? { pendingKey } : {}),
      ...(uidNumber !== undefined ? { uidNumber } : {}),
      ...(gidNumber !== undefined ? { gidNumber } : {}),
      ...(created !== undefined ? { createdAt: fromGeneralizedTime(created) } : {}),
    };
  }

  /** The person, or undefined. */
  async get(username: string): Promise<Person | undefined> {
    if (!NAME_OK(username)) return undefined;
    const entry = await this.ctx.ldap.read(this.ctx.layout.personDn(username), PERSON_ATTRIBUTES);
    return decodeOne(entry, decodePerson, this.ctx.layout);
  }

  /** The person, or NotFoundError. */
  async require(username: string): Promise<Person> {
    const p = await this.get(username);
    if (!p) throw new NotFoundError(`no account ${JSON.stringify(username)}`);
    return p;
  }

  async getByDn(dn: string): Promise<Person | undefined> {
    const entry = await this.ctx.ldap.read(dn, PERSON_ATTRIBUTES);
    return entry && entry.has('uidNumber') ? decodeOne(entry, decodePerson, this.ctx.layout) : undefined;
  }

  async getByUidNumber(uidNumber: number): Promise<Person | undefined> {
    const [entry] = await this.ctx.ldap.search(this.ctx.layout.people, {
      scope: 'one',
      filter: `(&(objectClass=posixAccount)(uidNumber=${Math.trunc(uidNumber)}))`,
      attributes: PERSON_ATTRIBUTES,
    });
    return decodeOne(entry, decodePerson, this.ctx.layout);
  }

  /**
   * People whose username, name, display name or mail contains `text` (case-insensitive);
   * all people when text is empty. At most `limit` (default 100), sorted by username.
   */
  async search(text = '', limit = 100): Promise<Person[]> {
    return (await this.page({ text, offset: 0, limit })).people;
  }

  /**
   * One page of `search`, and how many match in all. Only the usernames of all matches are read
   * (a few MB at 100,000 people); the full entries are read for the page alone, so the admin list
   * stays fast and small at any size. `people: true` leaves service identities out.
   */
  async page(q: { text?: string; offset: number; limit: number; people?: boolean }): Promise<{ total: number; people: Person[] }> {
    const t = (q.text ?? '').trim();
    const match = t ? filter`(|(uid=*${t}*)(cn=*${t}*)(displayName=*${t}*)(mail=*${t}*))` : '';
    const f = `(&(objectClass=posixAccount)${q.people ? '(!(cgServiceRole=*))' : ''}${match})`;
    // The username is the DN's uid (an entry may carry more uid values); '1.1' asks for no attributes.
    const names = (await this.ctx.ldap.search(this.ctx.layout.people, { scope: 'one', filter: f, attributes: ['1.1'], pageSize: 1000 }))
      .map((e) => personUsernameOf(e.dn, this.ctx.layout))
      .filter((n): n is string => n !== undefined)
      .sort((a, b) => a.localeCompare(b));
    const wanted = names.slice(q.offset, q.offset + q.limit);
    if (!wanted.length) return { total: names.length, people: [] };
    const byName = `(&(objectClass=posixAccount)(|${wanted.map((n) => filter`(uid=${n})`).join('')}))`;
    const entries = await this.ctx.ldap.search(this.ctx.layout.people, { scope: 'one', filter: byName, attributes: PERSON_ATTRIBUTES, pageSize: 500 });
    const people = decodeAll(entries, decodePerson, this.ctx.layout);
    people.sort((a, b) => a.username.localeCompare(b.username));
    return { total: names.length, people };
  }

  /** Service identities (entries with cgServiceRole), optionally of one role, sorted by username. */
  async services(role?: ServiceRole): Promise<Person[]> {
    const f = role === undefined
      ? '(&(objectClass=posixAccount)(cgServiceRole=*))'
      : filter`(&(objectClass=posixAccount)(cgServiceRole=${checkServiceRole(role)}))`;
    const entries = await this.ctx.ldap.search(this.ctx.layout.people, { scope: 'one', filter: f, attributes: PERSON_ATTRIBUTES, pageSize: 500 });
    return decodeAll(entries, decodePerson, this.ctx.layout).sort((a, b) => a.username.localeCompare(b.username));
  }

  /** Every person, page by page (for full scans). */
  async *all(pageSize = 1000): AsyncGenerator<Person[]> {
    for await (const page of this.ctx.ldap.searchPages(this.ctx.layout.people, {
      scope: 'one',
      filter: '(objectClass=posixAccount)',
      attributes: PERSON_ATTRIBUTES,
      pageSize,
    })) {
      yield decodeAll(page, decodePerson, this.ctx.layout);
    }
  }

  async update(username: string, change: PersonUpdate): Promise<Person> {
    const dn = this.ctx.layout.personDn(checkUsername(username));
    const mods: Modification[] = [];
    const set = (attribute: string, value: string | null | undefined, check: (v: string) => string) => {
      if (value === undefined) return;
      if (value === null) mods.push({ operation: 'replace', attribute, values: [] });
      else mods.push({ operation: 'replace', attribute, values: [check(value)] });
    };
    if (change.cn !== undefined) set('cn', change.cn, (v) => checkText('cn', v));
    if (change.sn !== undefined) set('sn', change.sn, (v) => checkText('sn', v));
    set('givenName', change.givenName, (v) => checkText('givenName', v));
    set('displayName', change.displayName, (v) => checkText('displayName', v));
    set('mail', change.mail, checkMail);
    set('loginShell', change.loginShell, checkLoginShell);
    if (change.policyAgreements) {
      mods.push({ operation: 'replace', attribute: 'voPersonPolicyAgreement', values: change.policyAgreements.map((p) => checkText('policyAgreement', p)) });
    }
    if (change.roles) mods.push({ operation: 'replace', attribute: 'cgRole', values: [...new Set(change.roles.map(checkRole))] });
    if (mods.length) await this.ctx.ldap.modify(dn, mods).catch(notFound(username));
    return this.require(username);
  }

  async addRole(username: string, role: string): Promise<void> {
    await this.ctx.ldap
      .modify(this.ctx.layout.personDn(checkUsername(username)), [{ operation: 'add', attribute: 'cgRole', values: [checkRole(role)] }])
      .catch((err: unknown) => {
        if (err instanceof ConflictError) return; // already has it
        return notFound(username)(err);
      });
  }

  async removeRole(username: string, role: string): Promise<void> {
    await this.ctx.ldap
      .modify(this.ctx.layout.personDn(checkUsername(username)), [{ operation: 'delete', attribute: 'cgRole', values: [checkRole(role)] }])
      .catch((err: unknown) => {
        if (err instanceof ConflictError) return; // did not have it
        return notFound(username)(err);
      });
  }

  async setStatus(username: string, status: PersonStatus): Promise<void> {
    if (status !== 'active' && status !== 'suspended') throw new ValidationError(`invalid status ${String(status)}`);
    await this.ctx.ldap
      .modify(this.ctx.layout.personDn(checkUsername(username)), [{ operation: 'replace', attribute: 'voPersonStatus', values: [status] }])
      .catch(notFound(username));
  }

  suspend(username: string): Promise<void> {
    return this.setStatus(username, 'suspended');
  }

  reactivate(username: string): Promise<void> {
    return this.setStatus(username, 'active');
  }

  /** True when the name was ever used (live account or tombstone). */
  async nameEverUsed(username: string): Promise<boolean> {
    const { ldap, layout } = this.ctx;
    const [live, dead] = await Promise.all([ldap.read(layout.personDn(username), ['1.1']), ldap.read(layout.tombstoneDn(username), ['1.1'])]);
    return Boolean(live || dead);
  }

  private async refuseUsedName(username: string): Promise<void> {
    const { ldap, layout } = this.ctx;
    const [live, dead, campaign] = await Promise.all([
      ldap.read(layout.personDn(username), ['1.1']),
      ldap.read(layout.tombstoneDn(username), ['1.1']),
      ldap.read(layout.campaignDn(username), ['1.1']),
    ]);
    if (live) throw new ConflictError(`username ${username} is taken`);
    if (dead) throw new ConflictError(`username ${username} belonged to a deleted account and is never reused`);
    if (campaign) throw new ConflictError(`${username} is the name of a campaign group`);
  }
}

/** Tombstone written before the entry goes away; see DirectoryDeletion in directory.ts. */
export function tombstoneAttributes(person: Person, at = new Date()) {
  return {
    objectClass: ['top', 'cgTombstone'],
    uid: person.username,
    uidNumber: String(person.uidNumber),
    gidNumber: String(person.gidNumber),
    cgDeletedAt: toGeneralizedTime(at),
  };
}

function NAME_OK(username: string): boolean {
  try {
    checkUsername(username);
    return true;
  } catch {
    return false;
  }
}

function ignoreNotFound(err: unknown): void {
  if (!(err instanceof NotFoundError)) throw err;
}

function notFound(username: string) {
  return (err: unknown): never => {
    if (err instanceof NotFoundError) throw new NotFoundError(`no account ${JSON.stringify(username)}`, { cause: err });
    throw err;
  };
}

function checkServiceRole(role: string): ServiceRole {
  if (!isServiceRole(role)) throw new ValidationError(`unknown service role ${JSON.stringify(role)}`);
  return role;
}
