/**
 * The usage policy page. Everyone can read it; a logged-in person who has not accepted the
 * current version meets it at their next request (app.ts sends them here) and accepts it with a
 * CSRF-protected form; staff of the home institute read and accept it before their account is
 * created (login.ts, POST /register/staff).
 */
import { Router } from 'express';
import { acceptPolicy, agreementTo, policyText } from '../../services/policy.js';
import type { PortalDeps } from '../deps.js';
import { handle, requireUser } from '../request-context.js';
import { flash, page } from '../render.js';

export function policyRoutes(deps: PortalDeps): Router {
  const r = Router();
  const policy = deps.config.policy;

  r.get('/policy', handle(async (req, res) => {
    const username = req.actor.username;
    const person = username ? await deps.services.directory.people.get(username) : undefined;
    const accepted = person ? agreementTo(person, policy.id) : undefined;
    const previous = person && !accepted && person.policyAgreements.length > 0;
    page(deps, req, res, 'policy', {
      title: policy.title, policy: { id: policy.id, title: policy.title },
      paragraphs: policyText(policy).split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean),
      accepted: accepted ? { at: accepted.at?.toISOString().replace('.000Z', 'Z') ?? 'at registration' } : undefined,
      mustAccept: !!person && !accepted, previous,
      staff: !username && req.session.pending && req.session.staffPending ? { label: req.session.pending.label } : undefined,
    });
  }));

  r.post('/policy/accept', handle(async (req, res) => {
    requireUser(req);
    const a = await acceptPolicy(deps.services, req.actor, policy.id, req.body.acceptPolicy);
    flash(req, `Thank you: you accepted the usage policy ${a.version}.`);
    res.redirect('/account');
  }));

  return r;
}
