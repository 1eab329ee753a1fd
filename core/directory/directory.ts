/**
 * The Directory facade: one object composing the stores, built from a connection, a base DN and
 * the number ranges. Operations that touch several stores (deleting a person) live here.
 */
import { ConflictError } from '../errors.js';
import type { RangesConfig } from '../ldap/config.js';
import type { LdapConnection } from '../ldap/connection.js';
import { NumberAllocator, type AllocatorOptions } from './allocation.js';
import { CampaignStore } from './campaigns.js';
import { readContextCsn } from './change-signal.js';
import type { DirectoryContext } from './context.js';
import { IdentityStore } from './identities.js';
import type { Identity } from './model.js';
import { DirectoryLayout } from './layout.js';
import { PeopleStore, tombstoneAttributes } from './people.js';
import { RequestStore } from './requests.js';
import { checkUsername } from './validate.js';

/** One thing a person's deletion removed. */
export type Removal = { kind: 'identity'; identity: Identity } | { kind: 'membership'; campaign: string } | { kind: 'request'; campaign: string; id: string };

export interface DirectoryOptions {
  ldap: LdapConnection;
  baseDn: string;
  ranges: RangesConfig;
  homeBase?: string;
  defaultLoginShell?: string;
  allocator?: AllocatorOptions;
}

export class Directory {
  readonly layout: DirectoryLayout;
  readonly allocator: NumberAllocator;
  readonly people: PeopleStore;
  readonly identities: IdentityStore;
  readonly campaigns: CampaignStore;
  readonly requests: RequestStore;
  readonly ldap: LdapConnection;

  constructor(options: DirectoryOptions) {
    this.ldap = options.ldap;
    this.layout = new DirectoryLayout(options.baseDn);
    this.allocator = new NumberAllocator(options.ldap, this.layout, options.ranges, options.allocator);
    const ctx: DirectoryContext = {
      ldap: options.ldap,
      layout: this.layout,
      allocator: this.allocator,
      homeBase: options.homeBase ?? '/home',
      defaultLoginShell: options.defaultLoginShell ?? '/bin/bash',
    };
    this.people = new PeopleStore(ctx);
    this.identities = new IdentityStore(ctx, this.people);
    this.campaigns = new CampaignStore(ctx, this.people);
    this.requests = new RequestStore(ctx, this.people, this.campaigns);
  }

  /**
   * Delete an account: write its tombstone first (so the username and numbers are never handed
   * out again, even if we stop halfway), then remove its identities, memberships, pending
   * requests, private group and entry. Refused while the person is PI of a campaign.
   */
  /**
   * Delete a person: tombstone first (the numbers are never reused), then identities, memberships,
   * pending requests, the private group and the entry. `onRemoved` hears of each thing removed as it
   * goes (the portal audits every one), so a deletion cut short still has a record of what it did.
   */
  async deletePerson(username: string, onRemoved: (removed: Removal) => void = () => undefined): Promise<void> {
    const person = await this.people.require(checkUsername(username));
    const led = await this.campaigns.ledBy(username);
    if (led.length) {
      throw new ConflictError(`${username} is PI of ${led.map((c) => c.name).join(', ')}; hand those campaigns over first`);
    }
    await this.ldap.add(this.layout.tombstoneDn(username), tombstoneAttributes(person)).catch((err: unknown) => {
      if (!(err instanceof ConflictError)) throw err; // a previous delete got this far
    });
    // From here on the account is neither mapped nor able to log in, however far this gets.
    await this.ldap.modify(person.dn, [{ operation: 'replace', attribute: 'voPersonStatus', values: ['deleted'] }]);
    for (const identity of await this.identities.listForOwnerDn(person.dn)) {
      await this.ldap.delete(identity.dn).catch(ignoreMissing);
      onRemoved({ kind: 'identity', identity });
    }
    for (const campaign of await this.campaigns.ofMember(username)) {
      await this.campaigns.removeMember(campaign.name, username);
      onRemoved({ kind: 'membership', campaign: campaign.name });
    }
    for (const request of await this.requests.dropPendingOf(person.dn)) onRemoved({ kind: 'request', campaign: request.campaign, id: request.id });
    await this.ldap.delete(this.layout.privateGroupDn(username)).catch(ignoreMissing);
    await this.ldap.delete(person.dn).catch(ignoreMissing);
  }

  /** The change signal: the suffix's contextCSN, different after every write. */
  contextCsn(): Promise<string> {
    return readContextCsn(this.ldap, this.layout.baseDn);
  }
}

function ignoreMissing(err: unknown): void {
  if ((err as Error).name !== 'NotFoundError') throw err;
}
