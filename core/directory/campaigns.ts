/** Campaigns: posixGroup + cgCampaign under ou=campaigns; the PI is always a member. */
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { LdapEntry } from '../ldap/entry.js';
import { filter } from '../ldap/escape.js';
import type { DirectoryContext } from './context.js';
import { CAMPAIGN_ATTRIBUTES, decodeCampaign, MAX_PROPRIETARY_DAYS, parseProprietaryDays } from './decode.js';
import { decodeAll, decodeOne } from './decoded.js';
import type { Campaign, CampaignState, NewCampaign } from './model.js';
import type { PeopleStore } from './people.js';
import { toGeneralizedTime } from './time.js';
import { checkCampaignName, checkText, checkUsername, NAME_PATTERN } from './validate.js';

export class CampaignStore {
  constructor(
    private readonly ctx: DirectoryContext,
    private readonly people: PeopleStore,
  ) {}

  /**
   * Create with a fresh gidNumber; the PI must exist and becomes the first member. A service
   * identity is never PI; every replication identity (active or not: the map decides who is
   * mapped) becomes a member from the start.
   */
  async create(input: NewCampaign): Promise<Campaign> {
    const { ldap, layout, allocator } = this.ctx;
    const name = checkCampaignName(input.name);
    const description = input.description === undefined ? undefined : checkText('description', input.description, 1024, true);
    const embargoEnd = input.embargoEnd ?? undefined;
    if (embargoEnd !== undefined) toGeneralizedTime(embargoEnd); // validates
    const pi = await this.people.require(input.pi);
    if (pi.serviceRole !== undefined) throw new ValidationError(`${pi.username} is a ${pi.serviceRole} service identity and cannot be the PI of a campaign`);
    const replication = (await this.people.services('replication')).map((p) => p.username).filter((u) => u !== pi.username);
    const dn = layout.campaignDn(name);
    if (await ldap.read(dn, ['1.1'])) throw new ConflictError(`campaign ${name} already exists`);
    if (await this.people.nameEverUsed(name)) throw new ConflictError(`${name} is (or was) a username; pick another campaign name`);
    await allocator.assertDesignatedWriter(`the campaign name ${name}`);
    const gidNumber = await allocator.allocate('gid');
    await ldap
      .add(dn, {
        objectClass: ['top', 'posixGroup', 'cgCampaign'],
        cn: name,
        gidNumber: String(gidNumber),
        memberUid: [pi.username, ...replication],
        cgPrincipalInvestigator: pi.dn,
        cgCampaignState: 'open',
        ...(description !== undefined ? { description } : {}),
        ...(embargoEnd !== undefined ? { cgEmbargoEnd: toGeneralizedTime(embargoEnd) } : {}),
      })
      .catch((err: unknown) => {
        if (err instanceof ConflictError) throw new ConflictError(`campaign ${name} already exists`, { cause: err });
        throw err;
      });
    // A replication identity created while this campaign was being made (it listed the campaigns
    // before ours existed; we listed the services before it existed): one of the two sees the other.
    const members = new Set([pi.username, ...replication]);
    for (const r of await this.people.services('replication')) if (!members.has(r.username)) await this.addMember(name, r.username);
    return (await this.get(name))!;
  }

  async get(name: string): Promise<Campaign | undefined> {
    if (!NAME_PATTERN.test(name)) return undefined;
    const entry = await this.ctx.ldap.read(this.ctx.layout.campaignDn(name), CAMPAIGN_ATTRIBUTES);
    return decodeOne(entry, decodeCampaign, this.ctx.layout);
  }

  async require(name: string): Promise<Campaign> {
    const c = await this.get(name);
    if (!c) throw new NotFoundError(`no campaign ${JSON.stringify(name)}`);
    return c;
  }

  /** All campaigns (optionally only open or closed ones), sorted by name. */
  async list(options: { state?: CampaignState } = {}): Promise<Campaign[]> {
    const f = options.state ? filter`(&(objectClass=cgCampaign)(cgCampaignState=${options.state}))` : '(objectClass=cgCampaign)';
    const entries = await this.ctx.ldap.search(this.ctx.layout.campaigns, { scope: 'one', filter: f, attributes: CAMPAIGN_ATTRIBUTES, pageSize: 1000 });
    return this.decode(entries).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Campaigns the person is a member of (PI included). */
  async ofMember(username: string): Promise<Campaign[]> {
    checkUsername(username);
    const entries = await this.ctx.ldap.search(this.ctx.layout.campaigns, {
      scope: 'one',
      filter: filter`(&(objectClass=cgCampaign)(memberUid=${username}))`,
      attributes: CAMPAIGN_ATTRIBUTES,
    });
    return this.decode(entries).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Campaigns the person leads. */
  async ledBy(username: string): Promise<Campaign[]> {
    const dn = this.ctx.layout.personDn(checkUsername(username));
    const entries = await this.ctx.ldap.search(this.ctx.layout.campaigns, {
      scope: 'one',
      filter: filter`(&(objectClass=cgCampaign)(cgPrincipalInvestigator=${dn}))`,
      attributes: CAMPAIGN_ATTRIBUTES,
    });
    return this.decode(entries).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Set or (null) lift the embargo end. */
  async setEmbargoEnd(name: string, end: Date | null): Promise<void> {
    const values = end === null ? [] : [toGeneralizedTime(end)];
    await this.modify(name, [{ operation: 'replace', attribute: 'cgEmbargoEnd', values }]);
  }

  /** Set (whole days, 1..36500: rolling release) or (null) remove the proprietary period. Validated here, at the edge. */
  async setProprietaryPeriod(name: string, days: number | null): Promise<void> {
    if (days !== null && parseProprietaryDays(String(days)) === undefined) throw new ValidationError(`proprietary period ${JSON.stringify(days)}: whole days, 1 to ${MAX_PROPRIETARY_DAYS}`);
    await this.modify(name, [{ operation: 'replace', attribute: 'cgProprietaryPeriod', values: days === null ? [] : [String(days)] }]);
  }

  async setDescription(name: string, description: string | null): Promise<void> {
    const values = description === null ? [] : [checkText('description', description, 1024, true)];
    await this.modify(name, [{ operation: 'replace', attribute: 'description', values }]);
  }

  async close(name: string): Promise<void> {
    await this.modify(name, [{ operation: 'replace', attribute: 'cgCampaignState', values: ['closed'] }]);
  }

  async reopen(name: string): Promise<void> {
    await this.modify(name, [{ operation: 'replace', attribute: 'cgCampaignState', values: ['open'] }]);
  }

  /**
   * Add a member (idempotent). The person must exist. A public-reader or instrument service
   * identity is never a member (its scope is no campaign group).
   */
  async addMember(name: string, username: string): Promise<void> {
    const person = await this.people.require(username);
    if (person.serviceRole !== undefined && person.serviceRole !== 'replication') {
      throw new ValidationError(`${username} is a ${person.serviceRole} service identity and is never a member of a campaign`);
    }
    await this.modify(name, [{ operation: 'add', attribute: 'memberUid', values: [username] }]).catch((err: unknown) => {
      if (err instanceof ConflictError) return; // already a member
      throw err;
    });
  }

  /** Remove a member (idempotent). The PI cannot be removed. */
  async removeMember(name: string, username: string): Promise<void> {
    checkUsername(username);
    const campaign = await this.require(name);
    if (campaign.pi === username) throw new ConflictError(`${username} is the PI of ${name} and stays a member`);
    const person = await this.people.get(username);
    if (person?.serviceRole === 'replication' && person.status !== 'deleted') throw new ConflictError(`${username} is a replication service identity and stays a member of every campaign`);
    await this.dropMemberUid(name, username);
    // After the memberUid (crash-safe: an end without memberUid is harmless), so a later rejoin starts without it.
    if (campaign.memberUntil[username]) await this.setMemberUntil(name, username, null);
  }

  /**
   * Only the memberUid (idempotent), no PI check and no end cleanup: for the membership expiry
   * job, which orders its own writes (memberUid, audit, then the end).
   */
  async dropMemberUid(name: string, username: string): Promise<void> {
    checkUsername(username);
    await this.modify(name, [{ operation: 'delete', attribute: 'memberUid', values: [username] }]).catch((err: unknown) => {
      if (err instanceof ConflictError) return; // was not a member
      throw err;
    });
  }

  /**
   * Set (or, with null, drop) the end of a membership: the member's old cgMemberUntil values go and
   * the new one comes in one modify, so a reader never sees two ends. Membership itself is the
   * caller's check (an orphan value without memberUid is harmless: the expiry job drops it).
   */
  async setMemberUntil(name: string, username: string, end: Date | null): Promise<void> {
    checkUsername(username);
    if (!NAME_PATTERN.test(name)) throw new ValidationError(`invalid campaign name ${JSON.stringify(name)}`);
    const entry = await this.ctx.ldap.read(this.ctx.layout.campaignDn(name), ['cgMemberUntil']);
    if (!entry) throw new NotFoundError(`no campaign ${JSON.stringify(name)}`);
    if (end !== null && (await this.people.get(username))?.serviceRole === 'replication') {
      throw new ValidationError(`${username} is a replication service identity: its membership of every campaign has no end`);
    }
    const old = entry.getAll('cgMemberUntil').filter((v) => v.trim().split(/\s+/)[0] === username);
    const mods: Parameters<DirectoryContext['ldap']['modify']>[1] = [];
    if (old.length) mods.push({ operation: 'delete', attribute: 'cgMemberUntil', values: old });
    if (end !== null) mods.push({ operation: 'add', attribute: 'cgMemberUntil', values: [`${username} ${toGeneralizedTime(end)}`] });
    if (mods.length) await this.modify(name, mods);
  }

  private async modify(name: string, mods: Parameters<DirectoryContext['ldap']['modify']>[1]): Promise<void> {
    if (!NAME_PATTERN.test(name)) throw new ValidationError(`invalid campaign name ${JSON.stringify(name)}`);
    await this.ctx.ldap.modify(this.ctx.layout.campaignDn(name), mods).catch((err: unknown) => {
      if (err instanceof NotFoundError) throw new NotFoundError(`no campaign ${JSON.stringify(name)}`, { cause: err });
      throw err;
    });
  }

  private decode(entries: LdapEntry[]): Campaign[] {
    return decodeAll(entries, decodeCampaign, this.ctx.layout);
  }
}
