/**
 * Logging in (client certificate or OpenID Connect), first-time registration and logout.
 * A successful login regenerates the session (no fixation). An identity without an account goes
 * to the registration form, except staff of the home institute, whose account is created at once.
 */
import { Router, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { ConflictError, NotFoundError, ValidationError, type Issue } from '../../../core/errors.js';
import { NAME_PATTERN, type Person } from '../../../core/directory/index.js';
import { accountForLogin, bindIdentity, parseRegistration, register } from '../../services/accounts.js';
import { EXPIRED_CERTIFICATE_HINT } from '../../services/lifecycle.js';
import { acceptPolicy } from '../../services/policy.js';
import { CertificateRefused } from '../../auth/certificate-chain.js';
import type { PortalDeps } from '../deps.js';
import { handle } from '../request-context.js';
import { flash, page } from '../render.js';
import { stringParam } from '../params.js';
import type { LoginIdentity } from '../seams.js';
import { loadIdentity, storeIdentity } from '../session.js';

export function loginRoutes(deps: PortalDeps): Router {
  const r = Router();
  const limiter = rateLimit({ windowMs: 15 * 60_000, limit: deps.config.loginRateLimit, standardHeaders: 'draft-7', legacyHeaders: false });
  const redirectUri = (id: string) => new URL(`/login/oidc/${encodeURIComponent(id)}/callback`, deps.config.publicUrl).toString();

  r.get('/', (req, res) => {
    if (req.actor.username) return res.redirect('/account');
    page(deps, req, res, 'home', { title: 'Log in', providers: deps.oidcLogin.providers() });
  });

  r.get('/login/certificate', limiter, handle(async (req, res) => {
    let id;
    try {
      id = await deps.certificateLogin.identify(req);
    } catch (err) {
      // An expired certificate: say what to do, not only what went wrong.
      if (!(err instanceof CertificateRefused) || !/ expired on /.test(err.message)) throw err;
      return page(deps, req, res, 'error', { title: 'Certificate expired', heading: 'Your certificate has expired', message: err.message, hint: EXPIRED_CERTIFICATE_HINT }, 403);
    }
    await completeLogin(req, res, id, req.query.bind === '1');
  }));

  r.get('/login/oidc/:provider', limiter, handle(async (req, res) => {
    const provider = deps.oidcLogin.providers().find((p) => p.id === req.params.provider);
    if (!provider) throw new NotFoundError('no such login provider');
    const { url, pending } = await deps.oidcLogin.start(provider.id, redirectUri(provider.id));
    req.session.oidc = { provider: provider.id, pending, bind: req.query.bind === '1' };
    res.redirect(url);
  }));

  r.get('/login/oidc/:provider/callback', limiter, handle(async (req, res) => {
    const saved = req.session.oidc;
    req.session.oidc = undefined;
    if (!saved || saved.provider !== req.params.provider) throw new ValidationError('this login was not started here, or it was already used; start again');
    const url = new URL(req.originalUrl, deps.config.publicUrl);
    const id = await deps.oidcLogin.finish(saved.provider, redirectUri(saved.provider), url, saved.pending);
    await completeLogin(req, res, id, saved.bind);
  }));

  r.get('/register', (req, res) => {
    const pending = req.session.pending;
    if (!pending) return res.redirect('/');
    page(deps, req, res, 'register', {
      title: 'Create your account',
      identity: { label: pending.label, issuer: pending.input.issuer },
      policy: deps.config.policy,
      form: prefill(pending.claims, pending.input.type === 'x509' ? pending.input.subject : undefined),
    });
  });

  r.post('/register', limiter, handle(async (req, res) => {
    const pending = req.session.pending;
    if (!pending) throw new ValidationError('log in with a certificate or an identity provider first');
    try {
      const form = parseRegistration(req.body, deps.config.policy.id);
      const person = await register(deps.services, { ...req.actor, identity: pending.label }, loadIdentity(pending), form);
      await startSession(req, person.username, pending.label);
      await acceptPolicy(deps.services, req.actor, deps.config.policy.id, form.acceptPolicy); // with its time, in LDAP and the audit trail
      flash(req, `Welcome, ${person.username}: your account has UID ${person.uidNumber}.`);
      await sendVerification(req, person);
      res.redirect('/account');
    } catch (err) {
      if (!(err instanceof ValidationError || err instanceof ConflictError)) throw err;
      page(deps, req, res, 'register', {
        title: 'Create your account',
        identity: { label: pending.label }, policy: deps.config.policy,
        form: { username: stringParam(req.body.username, 32), displayName: stringParam(req.body.displayName), email: stringParam(req.body.email) },
        // Each problem next to its field (aria-describedby), the rest above the form.
        ...fieldErrors(err instanceof ValidationError ? err.issues : [{ message: err.message }], ['username', 'displayName', 'email', 'acceptPolicy']),
      }, err instanceof ValidationError ? 400 : 409);
    }
  }));

  r.post('/logout', (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.redirect('/')));
  });

  async function completeLogin(req: Request, res: Response, id: LoginIdentity, bind: boolean): Promise<void> {
    if (bind && req.actor.username) {
      if (id.input.type === 'x509') {
        req.session.presented = storeIdentity(id);
      } else {
        await bindIdentity(deps.services, req.actor, id.input);
        flash(req, `Linked ${id.label} to your account.`);
      }
      return res.redirect('/account');
    }
    const person = await accountForLogin(deps.services, id.input, req.actor);
    if (person) {
      await startSession(req, person.username, id.label);
      if (id.input.type === 'x509') req.session.presented = storeIdentity(id);
      return res.redirect('/account');
    }
    if (provisionStaff(req, id)) return res.redirect('/policy');
    req.session.pending = storeIdentity(id);
    req.session.staffPending = undefined;
    res.redirect('/register');
  }

  /**
   * Staff of the home institute logging in through its issuer get their account without the
   * registration form, once they have read and accepted the usage policy (the policy page).
   */
  function provisionStaff(req: Request, id: LoginIdentity): boolean {
    const { staff } = deps.config;
    if (id.input.type !== 'oidc' || !staff.issuer || id.input.issuer !== staff.issuer) return false;
    const username = id.claims?.preferredUsername?.toLowerCase();
    if (!username || !NAME_PATTERN.test(username)) return false;
    if (staff.usernames.length && !staff.usernames.includes(username)) return false;
    req.session.pending = storeIdentity(id);
    req.session.staffPending = true;
    return true;
  }

  r.post('/register/staff', limiter, handle(async (req, res) => {
    const pending = req.session.pending;
    if (!pending || !req.session.staffPending) throw new ValidationError('log in through your home institute first');
    const { policy } = deps.config;
    const claims = pending.claims;
    const username = claims?.preferredUsername?.toLowerCase() ?? '';
    const form = parseRegistration({ username, displayName: claims?.name ?? username, email: claims?.email ?? '', acceptPolicy: req.body.acceptPolicy }, policy.id);
    const person = await register(deps.services, { ...req.actor, identity: pending.label }, loadIdentity(pending), form);
    await startSession(req, person.username, pending.label);
    await acceptPolicy(deps.services, req.actor, policy.id, form.acceptPolicy);
    flash(req, `Your staff account ${person.username} is ready (UID ${person.uidNumber}). Bind your certificate below.`);
    await sendVerification(req, person);
    res.redirect('/account');
  }));

  /** The only mail an unverified address gets: the link that verifies it. */
  async function sendVerification(req: Request, person: Person): Promise<void> {
    if (!deps.notifier || !person.mail) return;
    const delivery = await deps.notifier.sendVerification(person);
    if (delivery === 'sent' || delivery === 'logged') flash(req, `We sent a link to ${person.mail}: open it to confirm the address. Until then the portal sends you no mail.`);
    else flash(req, 'The confirmation mail could not be sent; send it again from this page later.', 'error');
  }

  return r;
}

function prefill(claims: LoginIdentity['claims'], subject?: string): Record<string, string> {
  const username = claims?.preferredUsername?.toLowerCase() ?? '';
  return { username: NAME_PATTERN.test(username) ? username : '', displayName: claims?.name ?? (subject ? commonName(subject) : ''), email: claims?.email ?? '' };
}

/**
 * The last CN of a grid DN (slash form), as a suggested full name: `/DC=org/CN=Nina Newcomer` ->
 * `Nina Newcomer`; dCache's `\xNN` bytes are decoded as UTF-8. Only a suggestion: the person edits it.
 */
export function commonName(subject: string): string {
  const matches = [...subject.matchAll(/\/CN=(.*?)(?=\/[A-Za-z][A-Za-z0-9.]*=|$)/g)];
  const raw = matches.at(-1)?.[1] ?? '';
  if (!raw.includes('\\x')) return raw.slice(0, 200);
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const m = /^\\x([0-9A-Fa-f]{1,2})/.exec(raw.slice(i));
    if (m) {
      bytes.push(parseInt(m[1]!, 16));
      i += m[0].length - 1;
    } else bytes.push(...Buffer.from(raw[i]!, 'utf8'));
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(bytes)).replace(/[\u0000-\u001f\u007f\ufffd]/g, '').slice(0, 200);
}

function startSession(req: Request, username: string, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const draft = req.session.draft; // a form that expired with the old session is still filled in after logging in again
    req.session.regenerate((err) => {
      if (err) return reject(err);
      if (draft) req.session.draft = draft;
      req.session.username = username;
      req.session.loginLabel = label;
      req.actor = { ...req.actor, username, identity: label };
      resolve();
    });
  });
}


/** Problems split into those of a known field (shown beside it) and the rest (shown above the form). */
function fieldErrors(issues: readonly Issue[], fields: readonly string[]): { errors: string[]; fieldErrors: Record<string, string> } {
  const byField: Record<string, string> = {};
  const rest: string[] = [];
  for (const i of issues) {
    if (i.path && fields.includes(i.path)) byField[i.path] = byField[i.path] ? `${byField[i.path]}; ${i.message}` : i.message;
    else rest.push(i.message);
  }
  return { errors: rest, fieldErrors: byField };
}
