/** Typed errors -> HTTP status, a readable page for browsers and JSON for the API. */
import type { ErrorRequestHandler } from 'express';
import { CampaignGuardError, ConflictError, DirectoryUnavailableError, ForbiddenError, NotFoundError, RangeExhaustedError, ValidationError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { page, type PortalDeps } from './context.js';

/** No (valid) login on a request that needs one. */
export class LoginRequiredError extends CampaignGuardError {
  override readonly name = 'LoginRequiredError';
}

export function statusOf(err: unknown): number {
  if (err instanceof LoginRequiredError) return 401;
  if (err instanceof ValidationError) return 400;
  if (err instanceof ForbiddenError) return 403;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  if (err instanceof DirectoryUnavailableError || err instanceof RangeExhaustedError) return 503;
  const status = (err as { status?: unknown; statusCode?: unknown })?.status ?? (err as { statusCode?: unknown })?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

const HEADINGS: Record<number, string> = {
  400: 'That did not work', 401: 'Please log in', 403: 'Not allowed', 404: 'Not found', 409: 'That conflicts with the current state',
  413: 'Request too large', 429: 'Too many attempts', 503: 'The directory is not available',
};

export function errorHandler(deps: PortalDeps, log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const status = statusOf(err);
    const known = err instanceof CampaignGuardError || (status < 500 && status !== 500);
    if (status >= 500) log.error({ err, path: req.path }, 'request failed');
    else log.info({ path: req.path, status, msg: (err as Error).message }, 'request refused');
    const message = known ? (err as Error).message : 'Something went wrong on our side; the error has been logged.';
    if (res.headersSent) return;
    if (req.path.startsWith('/api/')) {
      res.status(status).json({ error: message, status });
      return;
    }
    const hint = status === 503 ? 'Please try again in a minute. Nothing was changed.' : status === 401 ? 'Use the login options on the start page.' : undefined;
    page(deps, req, res, 'error', { title: HEADINGS[status] ?? 'Error', heading: HEADINGS[status] ?? 'Error', message, hint }, status);
  };
}
