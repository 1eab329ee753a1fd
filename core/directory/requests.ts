/**
 * Membership requests (ou=requests). A decision is a compare-and-swap on cgRequestState
 * (delete 'pending' + add the outcome in one modify), so two racing decisions cannot both win; with
 * several providers it is taken at the designated writer only (allocator.assertDesignatedWriter).
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { filter } from '../ldap/escape.js';
import type { CampaignStore } from './campaigns.js';
import type { DirectoryContext } from './context.js';
import { decodeRequest, REQUEST_ATTRIBUTES } from './decode.js';
import { decodeAll, decodeOne } from './decoded.js';
import type { Decision, MembershipRequest, NewMembershipRequest, RequestState } from './model.js';
import type { PeopleStore } from './people.js';
import { toGeneralizedTime } from './time.js';
import { checkText } from './validate.js';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class RequestStore {
  constructor(
    private readonly ctx: DirectoryContext,
    private readonly people: PeopleStore,
    private readonly campaigns: CampaignStore,
  ) {}

  async create(input: NewMembershipRequest): Promise<MembershipRequest> {
    const justification = input.justification === undefined ? undefined : checkText('justification', input.justification, 4096, true);
    const [person, campaign] = await Promise.all([this.people.require(input.requester), this.campaigns.require(input.campaign)]);
    if (campaign.state !== 'open') throw new ConflictError(`campaign ${campaign.name} is closed`);
    if (campaign.members.includes(person.username)) throw new ConflictError(`${person.username} is already a member of ${campaign.name}`);
    const pending = await this.search(filter`(&(cgRequestState=pending)(cgRequester=${person.dn})(cgCampaign=${campaign.dn}))`);
    if (pending.length) throw new ConflictError(`${person.username} already has a pending request for ${campaign.name}`);
    const id = randomUUID();
    await this.ctx.ldap.add(this.ctx.layout.requestDn(id), {
      objectClass: ['top', 'cgMembershipRequest'],
      cgRequestId: id,
      cgCampaign: campaign.dn,
      cgRequester: person.dn,
      cgRequestState: 'pending',
      ...(justification !== undefined ? { cgJustification: justification } : {}),
    });
    return (await this.get(id))!;
  }

  async get(id: string): Promise<MembershipRequest | undefined> {
    if (!UUID.test(id)) return undefined;
    const e = await this.ctx.ldap.read(this.ctx.layout.requestDn(id), REQUEST_ATTRIBUTES);
    return decodeOne(e, decodeRequest, this.ctx.layout);
  }

  /** Pending requests for a campaign, oldest first. */
  async pendingForCampaign(name: string): Promise<MembershipRequest[]> {
    const campaign = await this.campaigns.require(name);
    return this.search(filter`(&(cgRequestState=pending)(cgCampaign=${campaign.dn}))`);
  }

  /** Requests made by a person (all states unless given), oldest first. */
  async byRequester(username: string, state?: RequestState): Promise<MembershipRequest[]> {
    const dn = this.ctx.layout.personDn(username);
    return this.search(
      state ? filter`(&(cgRequestState=${state})(cgRequester=${dn}))` : filter`(&(objectClass=cgMembershipRequest)(cgRequester=${dn}))`,
    );
  }

  /**
   * Approve or deny a pending request. Only the campaign's PI or an admin may decide
   * (ForbiddenError); a request already decided gives ConflictError. Approval adds the memberUid.
   */
  async decide(id: string, decision: Decision): Promise<MembershipRequest> {
    if (decision.decision !== 'approved' && decision.decision !== 'denied') throw new ValidationError('decision must be approved or denied');
    const reason = decision.reason === undefined ? undefined : checkText('reason', decision.reason, 4096, true);
    const request = await this.get(id);
    if (!request) throw new NotFoundError(`no membership request ${JSON.stringify(id)}`);
    const [decider, campaign] = await Promise.all([this.people.require(decision.decidedBy), this.campaigns.require(request.campaign)]);
    if (campaign.pi !== decider.username && !decider.roles.includes('admin')) {
      throw new ForbiddenError(`${decider.username} is neither the PI of ${campaign.name} nor an admin`);
    }
    await this.ctx.allocator.assertDesignatedWriter(`the decision on membership request ${id}`);
    const dn = this.ctx.layout.requestDn(id);
    try {
      await this.ctx.ldap.modify(dn, [
        { operation: 'delete', attribute: 'cgRequestState', values: ['pending'] },
        { operation: 'add', attribute: 'cgRequestState', values: [decision.decision] },
        { operation: 'replace', attribute: 'cgDecidedBy', values: [decider.dn] },
        { operation: 'replace', attribute: 'cgDecidedAt', values: [toGeneralizedTime(new Date())] },
        { operation: 'replace', attribute: 'cgDecisionReason', values: reason === undefined ? [] : [reason] },
      ]);
    } catch (err) {
      if (err instanceof ConflictError) throw new ConflictError(`membership request ${id} was already decided`, { cause: err });
      throw err;
    }
    if (decision.decision === 'approved') {
      try {
        await this.campaigns.addMember(campaign.name, request.requester);
      } catch (err) {
        // Put the request back so it can be decided again.
        await this.ctx.ldap
          .modify(dn, [
            { operation: 'delete', attribute: 'cgRequestState', values: [decision.decision] },
            { operation: 'add', attribute: 'cgRequestState', values: ['pending'] },
          ])
          .catch(() => undefined);
        throw err;
      }
    }
    return (await this.get(id))!;
  }

  /**
   * The requester takes back a pending request: a compare-and-swap out of 'pending' (so a PI's
   * decision racing with it cannot both win; the loser gets ConflictError), then the entry is
   * deleted. Returns the request as it was.
   */
  async withdraw(id: string, requester: string): Promise<MembershipRequest> {
    const request = await this.get(id);
    if (!request) throw new NotFoundError(`no membership request ${JSON.stringify(id)}`);
    if (request.requester !== requester) throw new ForbiddenError('only the requester withdraws a request');
    await this.ctx.allocator.assertDesignatedWriter(`the withdrawal of membership request ${id}`);
    const dn = this.ctx.layout.requestDn(id);
    try {
      await this.ctx.ldap.modify(dn, [
        { operation: 'delete', attribute: 'cgRequestState', values: ['pending'] },
        { operation: 'add', attribute: 'cgRequestState', values: ['denied'] },
        { operation: 'replace', attribute: 'cgDecidedBy', values: [request.requesterDn] },
        { operation: 'replace', attribute: 'cgDecisionReason', values: ['withdrawn by the requester'] },
      ]);
    } catch (err) {
      if (err instanceof ConflictError) throw new ConflictError(`membership request ${id} was already decided`, { cause: err });
      throw err;
    }
    await this.ctx.ldap.delete(dn);
    return request;
  }

  /**
   * Forget the approved requests that let `username` into `campaignName`, when that membership ends
   * (leave, removal, expiry). Called BEFORE the memberUid goes: an approved request without its
   * memberUid is what `doctor` reads as an approval cut short and repairs by adding the member, so
   * one left behind by an ended membership would let `doctor --fix` put the person back. A crash
   * in between leaves a member without an approved request: still a member, nothing widened; the
   * leave or removal is simply done again. The audit trail keeps the approval.
   */
  async dropApprovedOf(campaignName: string, username: string): Promise<void> {
    const [person, campaign] = await Promise.all([this.people.require(username), this.campaigns.require(campaignName)]);
    for (const r of await this.search(filter`(&(cgRequestState=approved)(cgRequester=${person.dn})(cgCampaign=${campaign.dn}))`)) {
      await this.ctx.ldap.delete(r.dn).catch((err: unknown) => {
        if ((err as Error).name !== 'NotFoundError') throw err;
      });
    }
  }

  /** Delete the person's pending requests (the account is being deleted); returns those it deleted. */
  async dropPendingOf(personDn: string): Promise<MembershipRequest[]> {
    const pending = await this.search(filter`(&(cgRequestState=pending)(cgRequester=${personDn}))`);
    const dropped: MembershipRequest[] = [];
    for (const r of pending) {
      const gone = await this.ctx.ldap.delete(r.dn).then(() => true, (err: unknown) => (err as Error).name === 'NotFoundError');
      if (gone) dropped.push(r);
    }
    return dropped;
  }

  private async search(f: string): Promise<MembershipRequest[]> {
    const entries = await this.ctx.ldap.search(this.ctx.layout.requests, { scope: 'one', filter: f, attributes: REQUEST_ATTRIBUTES });
    return decodeAll(entries, decodeRequest, this.ctx.layout).sort((a, b) => (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0));
  }
}
