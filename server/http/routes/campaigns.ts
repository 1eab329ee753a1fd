/** Campaign pages for everybody: list, detail, join requests, PI decisions, member removal. */
import { Router } from 'express';
import { addMember, decide, decidableRequests, leaveCampaign, parseMemberUntil, permissionsFor, removeMember, requestToJoin, setMemberUntil, withdrawRequest } from '../../services/memberships.js';
import { changeEmbargo, changeProprietaryPeriod, requireAdmin } from '../../services/administration.js';
import { asksConfirmation } from '../../services/embargo-opening.js';
import { closeCampaignFor, embargoOpening, periodOpening, reopenCampaign } from '../../services/safer-admin.js';
import { requestExtension } from '../../services/embargo-extensions.js';
import type { PortalDeps } from '../deps.js';
import { handle, requireUser } from '../request-context.js';
import { flash, page } from '../render.js';
import { stringParam } from '../params.js';

export function campaignRoutes(deps: PortalDeps): Router {
  const r = Router();
  const { directory } = deps.services;
  const day = (d?: Date) => d?.toISOString().slice(0, 10);

  r.get('/campaigns', handle(async (req, res) => {
    const username = requireUser(req);
    const [campaigns, pending] = await Promise.all([directory.campaigns.list(), directory.requests.byRequester(username, 'pending')]);
    const rows = [];
    for (const c of campaigns.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = await permissionsFor(deps.services, req.actor, c, pending);
      rows.push({ name: c.name, description: c.description, pi: c.pi, embargoEnd: day(c.embargoEnd), proprietaryDays: c.proprietaryDays, state: c.state, ...p });
    }
    page(deps, req, res, 'campaigns', { title: 'Campaigns', campaigns: rows });
  }));

  r.get('/campaigns/:name', handle(async (req, res) => {
    requireUser(req);
    const c = await directory.campaigns.require(String(req.params.name));
    const mine = await directory.requests.byRequester(req.actor.username!, 'pending');
    const perms = await permissionsFor(deps.services, req.actor, c, mine);
    page(deps, req, res, 'campaign', {
      pendingRequestId: mine.find((q) => q.campaign === c.name)?.id,
      extensions: perms.canManage ? (deps.embargoExtensions?.forCampaign(c.name) ?? []).map((x) => ({ ...x, createdAt: x.createdAt.slice(0, 10), isPending: x.state === 'pending' })) : [],
      canAskExtension: perms.isPi && !!c.embargoEnd && !deps.embargoExtensions?.pending(c.name).length,
      canLeave: perms.isMember && !perms.isPi,
      canSeeCompliance: perms.isPi || req.actor.isAdmin,
      title: c.name,
      campaign: { ...c, embargoEnd: day(c.embargoEnd), embargoEndInput: day(c.embargoEnd) ?? '', isOpen: c.state === 'open' },
      ...perms,
      isAdmin: req.actor.isAdmin,
      members: perms.canSeeMembers ? c.members.sort().map((u) => ({ username: u, isPi: u === c.pi, until: day(c.memberUntil[u]) })) : [],
      requests: perms.canManage
        ? (await decidableRequests(deps.services, req.actor, c.name)).map((q) => ({ ...q, createdAt: q.createdAt?.toISOString().slice(0, 16).replace('T', ' ') }))
        : [],
    });
  }));

  r.post('/campaigns/:name/requests', handle(async (req, res) => {
    requireUser(req);
    await requestToJoin(deps.services, req.actor, String(req.params.name), stringParam(req.body.justification, 4000));
    flash(req, 'Your request was sent to the PI.');
    res.redirect(`/campaigns/${encodeURIComponent(String(req.params.name))}`);
  }));

  for (const [path, decision] of [['approve', 'approved'], ['deny', 'denied']] as const) {
    r.post(`/requests/:id/${path}`, handle(async (req, res) => {
      requireUser(req);
      const until = decision === 'approved' ? parseMemberUntil(stringParam(req.body.until, 40)) : undefined;
      const done = await decide(deps.services, req.actor, String(req.params.id), decision, stringParam(req.body.reason, 500) || undefined, until);
      flash(req, `${decision === 'approved' ? 'Approved' : 'Denied'}: ${done.requester} for ${done.campaign}.`);
      res.redirect(`/campaigns/${encodeURIComponent(done.campaign)}`);
    }));
  }

  r.get('/requests', handle(async (req, res) => {
    const username = requireUser(req);
    const requests = await decidableRequests(deps.services, req.actor);
    const led = await directory.campaigns.ledBy(username);
    page(deps, req, res, 'requests', {
      title: 'Requests to decide',
      requests: requests.map((q) => ({ ...q, createdAt: q.createdAt?.toISOString().slice(0, 16).replace('T', ' ') })),
      campaigns: (req.actor.isAdmin ? await directory.campaigns.list() : led).map((c) => c.name).sort(),
    });
  }));

  r.post('/requests/:id/withdraw', handle(async (req, res) => {
    requireUser(req);
    const q = await withdrawRequest(deps.services, req.actor, String(req.params.id));
    flash(req, `Your request to join ${q.campaign} was withdrawn.`);
    res.redirect('/account');
  }));

  r.post('/campaigns/:name/leave', handle(async (req, res) => {
    requireUser(req);
    const name = String(req.params.name);
    await leaveCampaign(deps.services, req.actor, name);
    flash(req, `You left ${name}. Its data are no longer readable with your account once the storage nodes have synced (seconds).`);
    res.redirect('/account');
  }));

  r.post('/campaigns/:name/members', handle(async (req, res) => {
    requireUser(req);
    const name = String(req.params.name);
    const member = stringParam(req.body.username, 32);
    const until = parseMemberUntil(stringParam(req.body.until, 40));
    await addMember(deps.services, req.actor, name, member, until);
    flash(req, `Added ${member} to ${name}${until ? ` until ${day(until)}` : ''}.`);
    res.redirect(`/campaigns/${encodeURIComponent(name)}`);
  }));

  r.post('/campaigns/:name/embargo-extension', handle(async (req, res) => {
    requireUser(req);
    if (!deps.embargoExtensions) throw new Error('embargo extensions are not set up');
    const x = await requestExtension(deps.services, deps.embargoExtensions, req.actor, String(req.params.name), req.body.newEnd, stringParam(req.body.reason, 1000));
    flash(req, `Your request to extend the embargo of ${x.campaign} to ${x.newEnd} was sent to the administrators. The current date holds until they decide.`);
    res.redirect(`/campaigns/${encodeURIComponent(x.campaign)}`);
  }));

  // Empty date: the membership no longer ends.
  r.post('/campaigns/:name/members/:user/until', handle(async (req, res) => {
    requireUser(req);
    const name = String(req.params.name);
    const member = String(req.params.user);
    const until = parseMemberUntil(stringParam(req.body.until, 40)) ?? null;
    await setMemberUntil(deps.services, req.actor, name, member, until);
    flash(req, until ? `The membership of ${member} now ends on ${day(until)}.` : `The membership of ${member} no longer ends.`);
    res.redirect(`/campaigns/${encodeURIComponent(name)}`);
  }));

  r.post('/campaigns/:name/members/:user/remove', handle(async (req, res) => {
    requireUser(req);
    await removeMember(deps.services, req.actor, String(req.params.name), String(req.params.user), stringParam(req.body.reason, 500));
    flash(req, `Removed ${req.params.user}.`);
    res.redirect(`/campaigns/${encodeURIComponent(String(req.params.name))}`);
  }));

  r.post('/campaigns/:name/embargo', handle(async (req, res) => {
    requireUser(req);
    requireAdmin(req.actor);
    const name = String(req.params.name);
    const opening = await embargoOpening(deps.services, name, req.body.embargoEnd);
    if (asksConfirmation(opening) && req.body.confirmed !== 'yes') {
      // Second step: say what happens, and ask again.
      return page(deps, req, res, 'confirm-embargo', {
        title: opening.closesReleased ? `Put ${name} under embargo again?` : `Open ${name} earlier?`, name, opening, publicNow: opening.publicFrom === 'now',
        embargoEnd: stringParam(req.body.embargoEnd, 10), reason: stringParam(req.body.reason, 500),
      });
    }
    const c = await changeEmbargo(deps.services, req.actor, String(req.params.name), req.body.embargoEnd, req.body.reason);
    flash(req, c.embargoEnd ? `Embargo of ${c.name} now ends ${day(c.embargoEnd)}.` : `${c.name} is now public.`);
    res.redirect(`/campaigns/${encodeURIComponent(c.name)}`);
  }));

  r.post('/campaigns/:name/proprietary-period', handle(async (req, res) => {
    requireUser(req);
    requireAdmin(req.actor);
    const name = String(req.params.name);
    const opening = await periodOpening(deps.services, name, req.body.proprietaryDays);
    if (asksConfirmation(opening) && req.body.confirmed !== 'yes') {
      return page(deps, req, res, 'confirm-period', {
        title: opening.closesReleased ? `Close released files of ${name} again?` : `Open files of ${name} earlier?`, name, opening,
        proprietaryDays: stringParam(req.body.proprietaryDays, 10), reason: stringParam(req.body.reason, 500),
      });
    }
    const c = await changeProprietaryPeriod(deps.services, req.actor, name, req.body.proprietaryDays, req.body.reason);
    flash(req, c.proprietaryDays ? `${c.name} now releases each file ${c.proprietaryDays} days after its observation date.` : `${c.name} now releases its data on the campaign date.`);
    res.redirect(`/campaigns/${encodeURIComponent(c.name)}`);
  }));

  r.post('/campaigns/:name/close', handle(async (req, res) => {
    requireUser(req);
    await closeCampaignFor(deps.services, req.actor, String(req.params.name), stringParam(req.body.reason, 500));
    flash(req, 'Campaign closed to new members.');
    res.redirect(`/campaigns/${encodeURIComponent(String(req.params.name))}`);
  }));

  r.post('/campaigns/:name/reopen', handle(async (req, res) => {
    requireUser(req);
    await reopenCampaign(deps.services, req.actor, String(req.params.name), stringParam(req.body.reason, 500));
    flash(req, 'Campaign reopened: people can ask to join again.');
    res.redirect(`/campaigns/${encodeURIComponent(String(req.params.name))}`);
  }));

  return r;
}
