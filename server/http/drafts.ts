/**
 * What a person typed survives an expired form. A CSRF token lives in the session; when the
 * session ended (8 hours idle, a restart without a configured sessionSecret, a logout elsewhere)
 * a form left open fails its CSRF check. Instead of a bare 403 that loses a long justification,
 * a same-origin POST whose token does not match keeps its text fields in the session as a draft,
 * changes nothing, and sends the person back to the page the form was on, where the fields are
 * filled in again from the draft (`form.*` for one-form pages, `{{kept "<action suffix>" "field"}}`
 * where a page holds several forms) beside a message to check and send again.
 *
 * Only a same-origin request (Origin, else Referer, equal to the portal's public URL) leaves a
 * draft: a cross-site POST (a real CSRF attempt) is refused as before and plants nothing.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export interface Draft {
  /** the form's action path (e.g. /campaigns/flare/requests) */
  action: string;
  /** the page the form was on: the draft is shown there */
  page: string;
  fields: Record<string, string>;
  savedMs: number;
}

const DRAFT_TTL_MS = 24 * 3600_000;
const MAX_FIELD = 4000;

export function keepDraftOnExpiredForm(csrf: RequestHandler, publicUrl: string): RequestHandler {
  const origin = new URL(publicUrl).origin;
  return (req: Request, res: Response, next: NextFunction) => {
    csrf(req, res, (err?: unknown) => {
      if (!err || (err as { code?: string }).code !== 'EBADCSRFTOKEN' || req.method !== 'POST' || !req.session) return next(err);
      const page = samePage(req, origin);
      if (!page) return next(err);
      req.session.draft = { action: req.path, page, fields: textFields(req.body), savedMs: Date.now() };
      (req.session.flash ??= []).push({ kind: 'error', text: 'This form had expired (the page was open a long time, or you were logged out). Nothing was sent; what you typed is filled in again below: check it and send it once more.' });
      res.redirect(303, page);
    });
  };
}

/** The draft for the page being rendered, once: it is dropped when shown or when old. */
export function takeDraft(req: Request): Draft | undefined {
  const draft = req.session?.draft;
  if (!draft) return undefined;
  if (Date.now() - draft.savedMs > DRAFT_TTL_MS) {
    req.session.draft = undefined;
    return undefined;
  }
  if (draft.page !== req.path) return undefined;
  req.session.draft = undefined;
  return draft;
}

/** The same-origin path the form was posted from (Referer), else the form's own path; undefined for a foreign origin. */
function samePage(req: Request, origin: string): string | undefined {
  const from = req.get('origin') ?? req.get('referer');
  if (!from) return undefined;
  let url: URL;
  try {
    url = new URL(from);
  } catch {
    return undefined;
  }
  if (url.origin !== origin) return undefined;
  const referer = req.get('referer');
  if (!referer) return req.path;
  const back = new URL(referer);
  return back.origin === origin ? back.pathname : undefined;
}

function textFields(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!body || typeof body !== 'object') return out;
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (k === '_csrf' || typeof v !== 'string') continue;
    out[k] = v.slice(0, MAX_FIELD);
  }
  return out;
}
