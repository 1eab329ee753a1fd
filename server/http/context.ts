/** Per-request helpers shared by the route modules. */
import type {} from './session.js';
import type {} from 'csrf-sync'; // its Request.csrfToken augmentation
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { LoginRequiredError } from './errors.js';
import type { Actor, ServiceContext } from '../services/context.js';
import type { ViewRenderer } from '../views.js';
import type { AuditTrail } from '../audit/trail.js';
import type { PortalSection } from '../config.js';
import type { BearerVerifier, CertificateLogin, OidcLogin } from './seams.js';

export interface PortalDeps {
  services: ServiceContext;
  auditTrail: AuditTrail;
  views: ViewRenderer;
  config: PortalSection;
  certificateLogin: CertificateLogin;
  oidcLogin: OidcLogin;
  bearer: BearerVerifier;
}

declare module 'express-serve-static-core' {
  interface Request {
    actor: Actor;
  }
}

/** Wrap an async handler so a rejection reaches the error handler. */
export function handle(fn: (req: Request, res: Response) => Promise<unknown>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
}

/** Async middleware: continues with next() when fn resolves, with the error when it rejects. */
export function before(fn: (req: Request, res: Response) => Promise<unknown>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).then(() => next(), next);
  };
}

export function flash(req: Request, text: string, kind: 'info' | 'error' = 'info'): void {
  (req.session.flash ??= []).push({ kind, text });
}

/** Render a page with the common locals (me, csrf token, flash messages). */
export function page(deps: PortalDeps, req: Request, res: Response, view: string, data: Record<string, unknown> = {}, status = 200): void {
  const messages = req.session?.flash ?? [];
  if (req.session) req.session.flash = [];
  const csrfToken = req.csrfToken?.() ?? '';
  res.status(status).type('html').send(
    deps.views.render(view, {
      ...data,
      me: req.actor?.username ? { username: req.actor.username, isAdmin: req.actor.isAdmin } : undefined,
      csrfToken,
      flash: messages,
    }),
  );
}

export function requireUser(req: Request): string {
  const username = req.actor.username;
  if (!username) throw new LoginRequiredError('log in first');
  return username;
}

export function stringParam(value: unknown, max = 200): string {
  return typeof value === 'string' ? value.slice(0, max) : '';
}
