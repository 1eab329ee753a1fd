/**
 * The JSON API under /api: the same operations and the same authorization as the pages, for
 * scripts. Authentication is a bearer access token from a configured OpenID provider only;
 * session cookies are ignored here, so the API needs no CSRF token and is not exposed to CSRF.
 */
import express, { Router } from 'express';
import { ConflictError, ForbiddenError, LoginRequiredError, ValidationError } from '../../../core/errors.js';
import { accountForLogin, unbindIdentity } from '../../services/accounts.js';
import { campaignJson, changeEmbargo, changeProprietaryPeriod, createCampaign, requireAdmin, setIdentityStatus } from '../../services/administration.js';
import { asksConfirmation } from '../../services/embargo-opening.js';
import { closeCampaignFor, embargoOpening, periodOpening, setAccountStatusFor } from '../../services/safer-admin.js';
import { addMember, decide, decidableRequests, parseMemberUntil, permissionsFor, removeMember, requestToJoin, setMemberUntil } from '../../services/memberships.js';
import type { PortalDeps } from '../deps.js';
import { before, handle } from '../request-context.js';
import { stringParam } from '../params.js';
import { complianceFor } from '../../services/compliance-reports.js';
import { reportView } from './compliance.js';

export function apiRoutes(deps: PortalDeps): Router {
  const r = Router();
  const { directory } = deps.services;
  r.use(express.json({ limit: '32kb' }));

  r.use(before(async (req) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
    if (!match) throw new LoginRequiredError('send an access token: Authorization: Bearer <token>');
    const { issuer, subject, scopes } = await deps.bearer.verify(match[1]!);
    const person = await accountForLogin(deps.services, { type: 'oidc', issuer, subject });
    if (!person) throw new ForbiddenError('this token\'s identity is not bound to any account; register on the portal first');
    // The admin role counts through the API only when the token also carries the admin scope.
    const adminScope = deps.config.apiAdminScope;
    if (req.path.startsWith('/admin/') && !scopes.includes(adminScope)) throw new ForbiddenError(`admin operations need the scope ${adminScope} in the access token (it has: ${scopes.join(' ')})`);
    req.actor = { username: person.username, isAdmin: person.roles.includes('admin') && scopes.includes(adminScope), identity: `${subject} at ${issuer}`, ip: req.ip ?? '' };
  }));

  r.get('/me', handle(async (req, res) => {
    const person = await directory.people.require(req.actor.username!);
    const identities = await directory.identities.listForPerson(person.username);
    res.json({ ...person, identities });
  }));
  r.delete('/me/identities/:key', handle(async (req, res) => {
    await unbindIdentity(deps.services, req.actor, String(req.params.key));
    res.status(204).end();
  }));

  r.get('/campaigns', handle(async (req, res) => {
    const campaigns = await directory.campaigns.list();
    const out = [];
    for (const c of campaigns) {
      const p = await permissionsFor(deps.services, req.actor, c);
      out.push({ name: c.name, description: c.description, pi: c.pi, gidNumber: c.gidNumber, embargoEnd: c.embargoEnd ?? null, proprietaryDays: c.proprietaryDays ?? null, state: c.state, ...(p.canSeeMembers ? { members: c.members } : {}), you: p });
    }
    res.json(out);
  }));
  r.post('/campaigns/:name/requests', handle(async (req, res) => {
    res.status(201).json(await requestToJoin(deps.services, req.actor, String(req.params.name), stringParam(req.body?.justification, 4000)));
  }));
  r.get('/campaigns/:name/requests', handle(async (req, res) => {
    res.json(await decidableRequests(deps.services, req.actor, String(req.params.name)));
  }));
  r.post('/requests/:id/decision', handle(async (req, res) => {
    const decision = req.body?.decision;
    if (decision !== 'approved' && decision !== 'denied') throw new ValidationError('decision must be "approved" or "denied"');
    const until = decision === 'approved' ? memberUntil(req.body?.until) : undefined;
    res.json(await decide(deps.services, req.actor, String(req.params.id), decision, stringParam(req.body?.reason, 500) || undefined, until ?? undefined));
  }));
  // The PI (or an admin) adds a member directly, or sets/clears a membership's end ("until": a date, or null for no end).
  r.post('/campaigns/:name/members', handle(async (req, res) => {
    const username = stringParam(req.body?.username, 64);
    if (!username) throw new ValidationError('username: the account to add');
    await addMember(deps.services, req.actor, String(req.params.name), username, memberUntil(req.body?.until) ?? undefined);
    res.status(204).end();
  }));
  r.put('/campaigns/:name/members/:user/until', handle(async (req, res) => {
    if (!req.body || !('until' in req.body)) throw new ValidationError('until: a date (YYYY-MM-DD), or null for no end');
    await setMemberUntil(deps.services, req.actor, String(req.params.name), String(req.params.user), memberUntil(req.body.until));
    res.status(204).end();
  }));
  r.delete('/campaigns/:name/members/:user', handle(async (req, res) => {
    await removeMember(deps.services, req.actor, String(req.params.name), String(req.params.user));
    res.status(204).end();
  }));

  // Embargo compliance (docs/compliance.md): each agent host's latest signed report of the campaign, for its PI and admins.
  r.get('/campaigns/:name/compliance', handle(async (req, res) => {
    const reports = await complianceFor(deps.services, deps.complianceReports!, req.actor, String(req.params.name));
    res.json(reports.map((x) => ({ ...reportView(x, deps.config.complianceReports.staleHours), document: x.document, signer: x.signer })));
  }));

  r.post('/admin/campaigns', handle(async (req, res) => {
    res.status(201).json(campaignJson(await createCampaign(deps.services, req.actor, req.body ?? {})));
  }));
  r.put('/admin/campaigns/:name/embargo', handle(async (req, res) => {
    // The same second step as the pages: a change that opens data earlier or closes released data
    // is refused until the caller says it means it ("confirm": true).
    requireAdmin(req.actor);
    const name = String(req.params.name);
    const embargoEnd = req.body?.embargoEnd ?? '';
    const opening = await embargoOpening(deps.services, name, embargoEnd);
    if (asksConfirmation(opening) && req.body?.confirm !== true) {
      throw new ConflictError(opening.closesReleased
        ? `${name} is public${opening.currentEnd ? ` since ${opening.currentEnd}` : ''}: this closes its released files again, and copies made meanwhile cannot be recalled; send "confirm": true to go ahead`
        : `this opens ${name} ${opening.publicFrom === 'now' ? 'now' : `on ${opening.publicFrom}`}, earlier than its embargo end ${opening.currentEnd ?? ''}; send "confirm": true to go ahead`);
    }
    res.json(campaignJson(await changeEmbargo(deps.services, req.actor, name, embargoEnd, req.body?.reason)));
  }));
  // Rolling release, as the campaign page's form sets it: whole days or null/'' for none, with a reason, audited as embargo.change.
  r.put('/admin/campaigns/:name/proprietary-period', handle(async (req, res) => {
    requireAdmin(req.actor);
    const name = String(req.params.name);
    const opening = await periodOpening(deps.services, name, req.body?.proprietaryDays);
    if (asksConfirmation(opening) && req.body?.confirm !== true) {
      throw new ConflictError(opening.closesReleased
        ? `${name} is public${opening.currentEnd ? ` since ${opening.currentEnd}` : ''}: a longer proprietary period closes released files observed within it again, and copies made meanwhile cannot be recalled; send "confirm": true to go ahead`
        : `a shorter proprietary period (or none) opens files of ${name} now, earlier than they would have opened; send "confirm": true to go ahead`);
    }
    res.json(campaignJson(await changeProprietaryPeriod(deps.services, req.actor, name, req.body?.proprietaryDays, req.body?.reason)));
  }));
  r.post('/admin/campaigns/:name/close', handle(async (req, res) => {
    await closeCampaignFor(deps.services, req.actor, String(req.params.name), req.body?.reason);
    res.status(204).end();
  }));
  r.get('/admin/users', handle(async (req, res) => {
    requireAdmin(req.actor);
    res.json(await directory.people.search(stringParam(req.query.q, 100), 200));
  }));
  r.put('/admin/users/:username/status', handle(async (req, res) => {
    const status = req.body?.status;
    if (status !== 'active' && status !== 'suspended') throw new ValidationError('status must be "active" or "suspended"');
    await setAccountStatusFor(deps.services, req.actor, String(req.params.username), status, req.body?.reason);
    res.status(204).end();
  }));
  r.put('/admin/identities/:key/status', handle(async (req, res) => {
    const status = req.body?.status;
    if (status !== 'active' && status !== 'revoked') throw new ValidationError('status must be "active" or "revoked"');
    await setIdentityStatus(deps.services, req.actor, String(req.params.key), status, req.body?.reason);
    res.status(204).end();
  }));
  r.get('/admin/audit', handle(async (req, res) => {
    requireAdmin(req.actor);
    res.json({ chain: deps.auditTrail.verify(), records: deps.auditTrail.query({ actor: stringParam(req.query.actor, 64) || undefined, action: stringParam(req.query.action, 64) || undefined, limit: Number(req.query.limit) || 100 }) });
  }));

  return r;
}

/** A membership end in a JSON body: absent or null = no end; otherwise a date as the forms take it (in the future). */
function memberUntil(value: unknown): Date | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ValidationError('until: a date (YYYY-MM-DD) or null');
  return parseMemberUntil(value) ?? null;
}
