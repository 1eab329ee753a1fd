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
import { decodeAll, decodeOne } from './decoded.js';
import type { NewPerson, Person, PersonStatus, PersonUpdate } from './model.js';
import { toGeneralizedTime } from './time.js';
import { checkLoginShell, checkMail, checkRole, checkText, checkUsername } from './validate.js';

export class PeopleStore {
  constructor(private readonly ctx: DirectoryContext) {}

  /** Create an account with a fresh uidNumber and a private group with a fresh gidNumber. */
  async create(input: NewPerson): Promise<Person> {
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

    // Fast refusals (the atomic checks follow below).
    await this.refuseUsedName(username);

    const uidNumber = await allocator.allocate('uid');
    const gidNumber = await allocator.allocate('gid');
    const dn = layout.personDn(username);
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
      voPersonStatus: 'active',
      voPersonPolicyAgreement: policies,
      cgRole: roles,
    }).catch((err: unknown) => {
      if (err instanceof ConflictError) throw new ConflictError(`username ${username} is taken`, { cause: err });
      throw err;
    });
    try {
      // A delete of the same name that raced with us wrote its tombstone before removing the
      // entry, so checking after our add catches it.
      if (await ldap.read(layout.tombstoneDn(username), ['1.1'])) {
        throw new ConflictError(`username ${username} belonged to a deleted account and is never reused`);
      }
      await ldap.add(layout.privateGroupDn(username), {
        objectClass: ['top', 'posixGroup'],
        cn: username,
        gidNumber: String(gidNumber),
        memberUid: username,
        description: `private group of ${username}`,
      }).catch((err: unknown) => {
        if (err instanceof ConflictError) throw new ConflictError(`a group named ${username} already exists`, { cause: err });
        throw err;
      });
    } catch (err) {
      await ldap.delete(dn).catch(() => undefined); // undo the claim; the numbers stay spent
      throw err;
    }
    return (await this.get(username))!;
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
    const t = text.trim();
    const f = t
      ? filter`(&(objectClass=posixAccount)(|(uid=*${t}*)(cn=*${t}*)(displayName=*${t}*)(mail=*${t}*)))`
      : '(objectClass=posixAccount)';
    const entries = await this.ctx.ldap.search(this.ctx.layout.people, { scope: 'one', filter: f, attributes: PERSON_ATTRIBUTES, pageSize: 500 });
    return decodeAll(entries, decodePerson, this.ctx.layout).sort((a, b) => a.username.localeCompare(b.username)).slice(0, limit);
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

function notFound(username: string) {
  return (err: unknown): never => {
    if (err instanceof NotFoundError) throw new NotFoundError(`no account ${JSON.stringify(username)}`, { cause: err });
    throw err;
  };
}
