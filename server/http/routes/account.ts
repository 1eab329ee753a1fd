/** The user's own account: facts, certificates, OIDC identities, campaigns. */
import { Router } from 'express';
import { ValidationError } from '../../../core/errors.js';
import { bindIdentity, unbindIdentity } from '../../services/accounts.js';
import { expiryWarning } from '../../services/lifecycle.js';
import { agreementTo, latestAgreement } from '../../services/policy.js';
import type { PortalDeps } from '../deps.js';
import { handle, requireUser } from '../request-context.js';
import { flash, page } from '../render.js';
import { loadIdentity } from '../session.js';

export function accountRoutes(deps: PortalDeps): Router {
  const r = Router();
  const { directory } = deps.services;

  r.get('/account', handle(async (req, res) => {
    const username = requireUser(req);
    const [person, identities, campaigns, requests] = await Promise.all([
      directory.people.require(username),
      directory.identities.listForPerson(username),
      directory.campaigns.ofMember(username),
      directory.requests.byRequester(username),
    ]);
    const when = (d?: Date) => d?.toISOString().slice(0, 16).replace('T', ' ') ?? '';
    const providers = deps.oidcLogin.providers();
    const presented = req.session.presented?.input.type === 'x509' ? req.session.presented.input : undefined;
    const presentedBound = presented && identities.some((i) => i.certSubject === presented.subject);
    const now = new Date();
    const certificates = identities.filter((i) => i.type === 'x509').map((i) => ({
      key: i.key, subject: i.certSubject, issuer: i.certIssuer ?? '', status: i.status,
      notAfter: i.certNotAfter?.toISOString().slice(0, 10) ?? '', current: presented?.subject === i.certSubject,
      warning: i.status === 'active' ? expiryWarning(i.certNotAfter, now) : undefined,
    }));
    page(deps, req, res, 'account', {
      title: 'Your account',
      person: { ...person, displayName: person.displayName ?? person.cn, email: person.mail },
      mailVerified: deps.notifier?.isVerified(person) ?? false,
      policy: policyFacts(deps, person),
      mailConfigured: !!deps.notifier,
      certificates,
      expiring: certificates.filter((c) => c.warning),
      oidcIdentities: identities.filter((i) => i.type === 'oidc').map((i) => ({
        key: i.key, issuer: i.oidcIssuer, subject: i.oidcSubject, status: i.status, providerName: providerName(deps, i.oidcIssuer),
      })),
      presented: presented && !presentedBound ? { subject: presented.subject, issuer: presented.issuer ?? '', notAfter: presented.notAfter?.slice(0, 10) ?? '' } : undefined,
      providers,
      campaigns: campaigns.map((c) => ({ name: c.name, isPi: c.pi === username, until: c.memberUntil[username]?.toISOString().slice(0, 10) })),
      pendingRequests: requests.filter((q) => q.state === 'pending').map((q) => ({ id: q.id, campaign: q.campaign, justification: q.justification, createdAt: when(q.createdAt) })),
      decidedRequests: requests.filter((q) => q.state !== 'pending').reverse()
        .map((q) => ({ campaign: q.campaign, state: q.state, reason: q.decisionReason ?? '', decidedBy: q.decidedBy ?? '', decidedAt: when(q.decidedAt) })),
    });
  }));

  // Proof of possession: only a certificate presented on this session's TLS connection can be bound.
  r.post('/account/certificates', handle(async (req, res) => {
    requireUser(req);
    const presented = req.session.presented;
    if (!presented || presented.input.type !== 'x509') throw new ValidationError('present the certificate to the portal first (log in with it while logged in)');
    await bindIdentity(deps.services, req.actor, loadIdentity(presented));
    flash(req, `Bound ${presented.label} to your account.`);
    res.redirect('/account');
  }));

  r.post('/account/identities/:key/remove', handle(async (req, res) => {
    requireUser(req);
    await unbindIdentity(deps.services, req.actor, String(req.params.key));
    flash(req, 'Identity removed. It no longer maps to your account once the storage nodes have synced (seconds).');
    res.redirect('/account');
  }));

  return r;
}

function policyFacts(deps: PortalDeps, person: Parameters<typeof latestAgreement>[0]) {
  const current = agreementTo(person, deps.config.policy.id);
  const latest = current ?? latestAgreement(person);
  return {
    current: deps.config.policy.id, url: deps.config.policy.url, isCurrent: !!current,
    accepted: latest ? { version: latest.version, at: latest.at?.toISOString().replace('.000Z', 'Z') } : undefined,
  };
}

function providerName(deps: PortalDeps, issuer: string | undefined): string {
  return deps.config.oidcProviders.find((p) => p.issuer === issuer)?.name ?? 'OpenID Connect';
}
