/**
 * The request context: who is acting on this request (req.actor, set by the app's session
 * middleware or the API's bearer check), and Express wrappers that let async handlers reach the
 * error handler.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { LoginRequiredError } from '../../core/errors.js';
import type { Actor } from '../services/context.js';

declare module 'express-serve-static-core' {
  interface Request {
    actor: Actor;
  }
}

/** The logged-in username, or LoginRequiredError. */
export function requireUser(req: Request): string {
  const username = req.actor.username;
  if (!username) throw new LoginRequiredError('log in first');
  return username;
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
