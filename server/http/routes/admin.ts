/** Admin pages: users, campaigns, all pending requests, the audit trail and its export. */
import { Router } from 'express';
import { createCampaign, deleteAccount, requireAdmin, setRole } from '../../services/administration.js';
import type { AuditRecord } from '../../audit/trail.js';
import { setAccountStatusFor } from '../../services/safer-admin.js';
import { decidableRequests } from '../../services/memberships.js';
import { decideExtension } from '../../services/embargo-extensions.js';
import { bindServiceIdentity, createServiceIdentity, listServiceIdentities } from '../../services/service-identities.js';
import { SERVICE_ROLES, type IdentityInput } from '../../../core/directory/model.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../core/errors.js';
import { describeIdentity, identityRef, isActive } from '../../../core/directory/index.js';
import type { PortalDeps } from '../deps.js';
import { handle } from '../request-context.js';
import { flash, page } from '../render.js';
import { stringParam } from '../params.js';
import { AUDIT_ACTIONS } from '../../services/context.js';

export function adminRoutes(deps: PortalDeps): Router {
  const r = Router();
  const { directory } = deps.services;
  r.use('/admin', (req, _res, next) => {
    try {
      requireAdmin(req.actor);
      next();
    } catch (err) {
      next(err);
    }
  });

  r.get('/admin', (req, res) => page(deps, req, res, 'admin/index', { title: 'Administration' }));

  const PAGE = 50;
  r.get('/admin/users', handle(async (req, res) => {
    const q = stringParam(req.query.q, 100);
    // Service identities are listed apart (/admin/services). Only the page's entries are read in full.
    const requested = Math.max(1, Number.parseInt(stringParam(req.query.page, 6), 10) || 1);
    let { total, people } = await directory.people.page({ text: q, offset: (requested - 1) * PAGE, limit: PAGE, people: true });
    const pages = Math.max(1, Math.ceil(total / PAGE));
    const at = Math.min(requested, pages);
    if (at !== requested) ({ total, people } = await directory.people.page({ text: q, offset: (at - 1) * PAGE, limit: PAGE, people: true }));
    const link = (n: number) => `/admin/users?${new URLSearchParams({ ...(q ? { q } : {}), page: String(n) })}`;
    page(deps, req, res, 'admin/users', {
      title: 'Users', q,
      showing: total ? `showing ${(at - 1) * PAGE + 1}–${(at - 1) * PAGE + people.length} of ${total}` : '',
      prev: at > 1 ? link(at - 1) : undefined, next: at < pages ? link(at + 1) : undefined,
      people: people.map((p) => ({ ...p, displayName: p.displayName ?? p.cn, isActive: isActive(p.status), rolesText: p.roles.join(', ') })),
    });
  }));

  // One user: identities, campaigns, requests, audit history (as actor, as target, and of the identities they own), admin role.
  r.get('/admin/users/:username', handle(async (req, res) => {
    const username = String(req.params.username);
    const person = await directory.people.get(username);
    if (!person) throw new NotFoundError(`there is no account ${JSON.stringify(username)}`);
    const [identities, campaigns, requests] = await Promise.all([
      directory.identities.listForPerson(username), directory.campaigns.ofMember(username), directory.requests.byRequester(username),
    ]);
    const targets = [username, ...identities.map((i) => describeIdentity(identityRef(i)))];
    const bySeq = new Map<number, AuditRecord>();
    for (const r of deps.auditTrail.query({ actor: username, limit: 100 })) bySeq.set(r.seq, r);
    for (const target of targets) for (const r of deps.auditTrail.query({ target, limit: 100 })) bySeq.set(r.seq, r);
    const history = [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, 200);
    page(deps, req, res, 'admin/user', {
      title: `User ${username}`,
      person: { ...person, displayName: person.displayName ?? person.cn, isAdmin: person.roles.includes('admin'), isMe: username === req.actor.username },
      identities: identities.map((i) => ({ what: describeIdentity(identityRef(i)), status: i.status, notAfter: i.certNotAfter?.toISOString().slice(0, 10) ?? '' })),
      campaigns: campaigns.map((c) => ({ name: c.name, isPi: c.pi === username })),
      requests: requests.reverse().map((q) => ({ campaign: q.campaign, state: q.state, reason: q.decisionReason ?? '', decidedBy: q.decidedBy ?? '' })),
      history: history.map((x) => ({ ...x, at: x.at.replace('T', ' ').slice(0, 19), detailsText: x.details ? JSON.stringify(x.details) : '' })),
    });
  }));

  r.post('/admin/users/:username/role', handle(async (req, res) => {
    const username = String(req.params.username);
    const granted = req.body.grant === 'yes';
    await setRole(deps.services, req.actor, username, 'admin', granted);
    flash(req, `${username}: admin role ${granted ? 'granted' : 'revoked'}.`);
    res.redirect(`/admin/users/${encodeURIComponent(username)}`);
  }));

  for (const action of ['suspend', 'reactivate'] as const) {
    r.post(`/admin/users/:username/${action}`, handle(async (req, res) => {
      await setAccountStatusFor(deps.services, req.actor, String(req.params.username), action === 'suspend' ? 'suspended' : 'active', stringParam(req.body.reason, 500));
      flash(req, `${req.params.username}: ${action === 'suspend' ? 'suspended' : 'reactivated'}.`);
      res.redirect('/admin/users');
    }));
  }

  r.post('/admin/users/:username/delete', handle(async (req, res) => {
    await deleteAccount(deps.services, req.actor, String(req.params.username), req.body.confirm);
    flash(req, `${req.params.username} deleted; its UID stays reserved (tombstone).`);
    res.redirect('/admin/users');
  }));

  const campaignsPage = async (req: Parameters<typeof page>[1], res: Parameters<typeof page>[2], extra: Record<string, unknown> = {}, status = 200) => {
    const q = stringParam(req.query.q, 100).toLowerCase();
    const all = (await directory.campaigns.list()).filter((c) => !q || c.name.includes(q) || c.pi.includes(q) || (c.description ?? '').toLowerCase().includes(q))
      .sort((a, b) => a.name.localeCompare(b.name));
    const pages = Math.max(1, Math.ceil(all.length / PAGE));
    const at = Math.min(Math.max(1, Number.parseInt(stringParam(req.query.page, 6), 10) || 1), pages);
    const campaigns = all.slice((at - 1) * PAGE, at * PAGE);
    const link = (n: number) => `/admin/campaigns?${new URLSearchParams({ ...(q ? { q } : {}), page: String(n) })}`;
    page(deps, req, res, 'admin/campaigns', {
      title: 'Campaigns', q,
      showing: all.length ? `showing ${(at - 1) * PAGE + 1}–${(at - 1) * PAGE + campaigns.length} of ${all.length}` : '',
      prev: at > 1 ? link(at - 1) : undefined, next: at < pages ? link(at + 1) : undefined,
      campaigns: campaigns.map((c) => ({ ...c, embargoEnd: c.embargoEnd?.toISOString().slice(0, 10), memberCount: c.members.length })),
      ...extra,
    }, status);
  };
  r.get('/admin/campaigns', handle((req, res) => campaignsPage(req, res)));
  r.post('/admin/campaigns', handle(async (req, res) => {
    try {
      const c = await createCampaign(deps.services, req.actor, req.body);
      flash(req, `Created ${c.name} (gid ${c.gidNumber}).`);
      res.redirect('/admin/campaigns');
    } catch (err) {
      if (!(err instanceof ValidationError || err instanceof ConflictError || err instanceof NotFoundError)) throw err;
      await campaignsPage(req, res, { errors: [(err as Error).message], form: req.body }, 400);
    }
  }));

  // Service identities (issue 18): apart from people, created and bound here with a reason, audited.
  const servicesPage = async (req: Parameters<typeof page>[1], res: Parameters<typeof page>[2], extra: Record<string, unknown> = {}, status = 200) => {
    const services = await listServiceIdentities(deps.services, req.actor);
    page(deps, req, res, 'admin/services', {
      title: 'Service identities',
      roles: SERVICE_ROLES,
      services: services.map(({ person, identities }) => ({
        username: person.username, description: person.cn, role: person.serviceRole, uidNumber: person.uidNumber, status: person.status,
        identities: identities.map((i) => `${describeIdentity(identityRef(i))} (${i.status})`),
      })),
      ...extra,
    }, status);
  };
  const formErrors = (err: unknown) => {
    if (!(err instanceof ValidationError || err instanceof ConflictError || err instanceof NotFoundError)) throw err;
    return [(err as Error).message];
  };
  r.get('/admin/services', handle((req, res) => servicesPage(req, res)));
  r.post('/admin/services', handle(async (req, res) => {
    try {
      const p = await createServiceIdentity(deps.services, req.actor, req.body);
      flash(req, `Created service identity ${p.username} (${p.serviceRole}, uid ${p.uidNumber}).`);
      res.redirect('/admin/services');
    } catch (err) {
      await servicesPage(req, res, { errors: formErrors(err), form: req.body }, 400);
    }
  }));
  r.post('/admin/services/:username/identities', handle(async (req, res) => {
    const username = String(req.params.username);
    const type = stringParam(req.body.type, 10);
    const input: IdentityInput = type === 'oidc'
      ? { type: 'oidc', issuer: stringParam(req.body.issuer, 500), subject: stringParam(req.body.subject, 500) }
      : { type: 'x509', subject: stringParam(req.body.subject, 1000) };
    try {
      await bindServiceIdentity(deps.services, req.actor, username, input, stringParam(req.body.reason, 500));
      flash(req, `${username}: ${describeIdentity(identityRef(input))} bound.`);
      res.redirect('/admin/services');
    } catch (err) {
      await servicesPage(req, res, { errors: formErrors(err) }, 400);
    }
  }));

  r.get('/admin/requests', handle(async (req, res) => {
    const requests = await decidableRequests(deps.services, req.actor);
    page(deps, req, res, 'admin/requests', {
      title: 'Pending requests', requests: requests.map((q) => ({ ...q, createdAt: q.createdAt?.toISOString().slice(0, 16).replace('T', ' ') })),
      extensions: (deps.embargoExtensions?.pending() ?? []).map((x) => ({ ...x, currentEnd: x.currentEnd.slice(0, 10), createdAt: x.createdAt.slice(0, 16).replace('T', ' ') })),
    });
  }));

  for (const [path, decision] of [['approve', 'approved'], ['deny', 'denied']] as const) {
    r.post(`/admin/embargo-extensions/:id/${path}`, handle(async (req, res) => {
      if (!deps.embargoExtensions) throw new NotFoundError('embargo extensions are not set up');
      const x = await decideExtension(deps.services, deps.embargoExtensions, req.actor, String(req.params.id), decision, stringParam(req.body.reason, 500));
      flash(req, `Embargo extension of ${x.campaign} to ${x.newEnd}: ${decision}.`);
      res.redirect('/admin/requests');
    }));
  }

  r.get('/admin/audit', handle(async (req, res) => {
    const filter = {
      actor: stringParam(req.query.actor, 64), action: stringParam(req.query.action, 64), target: stringParam(req.query.target, 200),
      from: stringParam(req.query.from, 10), to: stringParam(req.query.to, 10),
    };
    // Days in UTC, both included: from 00:00 of `from` to the end of `to`.
    const since = filter.from ? `${dayParam('from', filter.from)}T00:00:00.000Z` : undefined;
    const until = filter.to ? new Date(Date.parse(`${dayParam('to', filter.to)}T00:00:00.000Z`) + 86_400_000).toISOString() : undefined;
    const before = Number(req.query.before) || undefined;
    const records = deps.auditTrail.query({ ...filter, ...(since ? { since } : {}), ...(until ? { until } : {}), ...(before ? { before } : {}), limit: 100 });
    const last = records[records.length - 1];
    const next = records.length === 100 && last ? `/admin/audit?${new URLSearchParams({ ...filter, before: String(last.seq) })}` : undefined;
    page(deps, req, res, 'admin/audit', {
      title: 'Audit trail', filter, chain: deps.auditTrail.verify(), nextPage: next, actionChoices: AUDIT_ACTION_CHOICES,
      records: records.map((x) => ({ ...x, at: x.at.replace('T', ' ').slice(0, 19), detailsText: x.details ? JSON.stringify(x.details) : '' })),
    });
  }));

  r.get('/admin/audit/export', (req, res) => {
    res.type('application/json').attachment('audit-trail.json');
    res.write('[\n');
    let first = true;
    for (const record of deps.auditTrail.all()) {
      res.write(`${first ? '' : ',\n'}${JSON.stringify(record)}`);
      first = false;
    }
    res.end('\n]\n');
  });

  return r;
}

/** The action filter's suggestions: each family ('membership.' = all membership actions), then each action. */
const AUDIT_ACTION_CHOICES = [...new Set(AUDIT_ACTIONS.map((a) => `${a.split('.')[0]}.`)), ...AUDIT_ACTIONS];

function dayParam(name: string, value: string): string {
  const ms = Date.parse(`${value}T00:00:00Z`); // V8 rolls 2025-02-30 over to March: the round trip refuses it
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) throw new ValidationError(`${name}: a date YYYY-MM-DD`);
  return value;
}
