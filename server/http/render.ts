/** Rendering pages: the view with the common locals (me, CSRF token, flash messages). */
import type {} from './session.js';
import type {} from './request-context.js';
import type {} from 'csrf-sync'; // its Request.csrfToken augmentation
import type { Request, Response } from 'express';
import type { PortalDeps } from './deps.js';
import { takeDraft } from './drafts.js';

export function flash(req: Request, text: string, kind: 'info' | 'error' = 'info'): void {
  (req.session.flash ??= []).push({ kind, text });
}

/** Render a page with the common locals (me, csrf token, flash messages). */
export function page(deps: Pick<PortalDeps, 'views'>, req: Request, res: Response, view: string, data: Record<string, unknown> = {}, status = 200): void {
  const messages = req.session?.flash ?? [];
  if (req.session) req.session.flash = [];
  const csrfToken = req.csrfToken?.() ?? '';
  const draft = takeDraft(req);
  res.status(status).type('html').send(
    deps.views.render(view, {
      ...data,
      // what was typed into an expired form wins over the page's own prefill (server/http/drafts.ts)
      ...(draft ? { draft, form: { ...(data.form as Record<string, unknown> | undefined), ...draft.fields } } : {}),
      me: req.actor?.username ? { username: req.actor.username, isAdmin: req.actor.isAdmin, ...(res.locals?.pendingCount ? { pendingCount: res.locals.pendingCount as number } : {}) } : undefined,
      csrfToken,
      flash: messages,
    }),
  );
}
