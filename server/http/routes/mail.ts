/**
 * E-mail verification: the link mailed at registration (or on request from the account page)
 * opens a confirmation page; its form (CSRF-protected, so a mail scanner fetching the link does
 * not verify anything) marks the address verified. Only verified addresses get notices.
 */
import { Router } from 'express';
import { NotFoundError, ValidationError } from '../../../core/errors.js';
import { audit } from '../../services/context.js';
import type { PortalDeps } from '../deps.js';
import { handle, requireUser } from '../request-context.js';
import { flash, page } from '../render.js';

const TOKEN = /^[A-Za-z0-9_-]{20,100}$/;

export function mailRoutes(deps: PortalDeps): Router {
  const r = Router();
  const notifier = () => {
    if (!deps.notifier) throw new NotFoundError('e-mail is not configured on this portal');
    return deps.notifier;
  };
  const tokenOf = (raw: unknown) => {
    const token = String(raw ?? '');
    if (!TOKEN.test(token)) throw new NotFoundError('this link is not valid: it was used already, it expired, or it was copied incompletely. Send a new one from your account page.');
    return token;
  };
  const gone = () => new NotFoundError('this link is not valid: it was used already, it expired, or the account has another address now. Send a new one from your account page.');

  r.get('/verify-email/:token', handle(async (req, res) => {
    const found = notifier().peek(tokenOf(req.params.token));
    if (!found) throw gone();
    page(deps, req, res, 'verify-email', { title: 'Confirm your e-mail address', token: req.params.token, ...found });
  }));

  r.post('/verify-email/:token', handle(async (req, res) => {
    const found = await notifier().confirm(tokenOf(req.params.token));
    if (!found) throw gone();
    audit(deps.services, { ...req.actor, username: req.actor.username ?? found.username }, 'account.update', found.username, { mailVerified: found.address });
    flash(req, `Thank you: ${found.address} is confirmed. The portal will now tell you about your requests and certificates by mail.`);
    res.redirect(req.actor.username ? '/account' : '/');
  }));

  r.post('/account/email/verify', handle(async (req, res) => {
    const username = requireUser(req);
    const person = await deps.services.directory.people.require(username);
    if (!person.mail) throw new ValidationError('your account has no e-mail address');
    if (notifier().isVerified(person)) {
      flash(req, `${person.mail} is already confirmed.`);
      return res.redirect('/account');
    }
    const delivery = await notifier().sendVerification(person);
    flash(req, delivery === 'failed' ? 'The mail server could not be reached; please try again later.' : `A confirmation link was sent to ${person.mail}.`, delivery === 'failed' ? 'error' : 'info');
    res.redirect('/account');
  }));

  return r;
}
