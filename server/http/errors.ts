/**
 * Error mapping, in one place: any error -> HTTP status, a readable page for browsers and JSON
 * for the API. Project errors keep their stable `code` (and `issues`, `dependency`) in the JSON;
 * a failing dependency is named as itself (the directory, the OpenID provider, the mail server),
 * never as another one. Unknown errors are logged with their cause chain and shown as ours.
 */
import type { ErrorRequestHandler } from 'express';
import {
  CampaignGuardError, ConflictError, DEPENDENCY_NAMES, DependencyUnavailableError, ForbiddenError, LoginRequiredError,
  NotFoundError, RangeExhaustedError, ValidationError,
} from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { PortalDeps } from './deps.js';
import { page } from './render.js';

export function statusOf(err: unknown): number {
  if (err instanceof LoginRequiredError) return 401;
  if (err instanceof ValidationError) return 400;
  if (err instanceof ForbiddenError) return 403;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  if (err instanceof DependencyUnavailableError || err instanceof RangeExhaustedError) return 503;
  const status = (err as { status?: unknown; statusCode?: unknown })?.status ?? (err as { statusCode?: unknown })?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

const HEADINGS: Record<number, string> = {
  400: 'That did not work', 401: 'Please log in', 403: 'Not allowed', 404: 'Not found', 409: 'That conflicts with the current state',
  413: 'Request too large', 429: 'Too many attempts', 503: 'A service the portal needs is not available',
};

/** The page heading: for a failing dependency, which one. */
export function headingOf(err: unknown, status: number): string {
  if (err instanceof DependencyUnavailableError) {
    const name = DEPENDENCY_NAMES[err.dependency];
    return `${name[0]!.toUpperCase()}${name.slice(1)} is not available`;
  }
  if (err instanceof RangeExhaustedError) return 'No numbers left to allocate';
  return HEADINGS[status] ?? 'Error';
}

/** What the API answers: message, status, and the error's structure when it is ours. */
export function errorBody(err: unknown, status: number, message: string): Record<string, unknown> {
  if (!(err instanceof CampaignGuardError)) return { error: message, status };
  return {
    error: message,
    status,
    code: err.code,
    ...(err instanceof ValidationError ? { issues: err.issues } : {}),
    ...(err instanceof DependencyUnavailableError ? { dependency: err.dependency } : {}),
  };
}

export function errorHandler(deps: Pick<PortalDeps, 'views'>, log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const status = statusOf(err);
    const known = err instanceof CampaignGuardError || status < 500;
    const dependency = err instanceof DependencyUnavailableError ? err.dependency : undefined;
    if (status >= 500) log.error({ err, path: req.path, code: (err as { code?: unknown }).code, ...(dependency ? { dependency } : {}) }, dependency ? `${DEPENDENCY_NAMES[dependency]} is not available` : 'request failed');
    else log.info({ path: req.path, status, code: (err as { code?: unknown }).code, reason: (err as Error).message }, 'request refused');
    const message = known ? (err as Error).message : 'Something went wrong on our side; the error has been logged.';
    if (res.headersSent) return;
    if (req.path.startsWith('/api/') || req.baseUrl.startsWith('/api')) {
      res.status(status).json(errorBody(err, status, message));
      return;
    }
    const hint = status === 503 ? 'Please try again in a minute. Nothing was changed.' : status === 401 ? 'Use the login options on the start page.' : undefined;
    const heading = headingOf(err, status);
    page(deps, req, res, 'error', { title: heading, heading, message, hint }, status);
  };
}
