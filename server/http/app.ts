/**
 * The portal's Express application: security headers, sessions in SQLite, CSRF tokens on every
 * state-changing form, the actor of each request, the page and API routes, and error pages.
 */
import express, { type Express } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import { csrfSync } from 'csrf-sync';
import { keepDraftOnExpiredForm } from './drafts.js';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isActive } from '../../core/directory/index.js';
import { createLogger } from '../../core/log.js';
import { VIEWS_DIR } from '../views.js';
import { SqliteSessionStore } from '../session-store.js';
import { before } from './request-context.js';
import type { PortalDeps } from './deps.js';
import { errorHandler } from './errors.js';
import { loginRoutes } from './routes/login.js';
import { accountRoutes } from './routes/account.js';
import { campaignRoutes } from './routes/campaigns.js';
import { adminRoutes } from './routes/admin.js';
import { apiRoutes } from './routes/api.js';
import { complianceReceiveRoutes, compliancePageRoutes } from './routes/compliance.js';
import { ComplianceReportStore } from '../services/compliance-reports.js';
import { mailRoutes } from './routes/mail.js';
import { policyRoutes } from './routes/policy.js';
import { agreementTo } from '../services/policy.js';
import { pendingCountFor } from '../services/memberships.js';
import { EmbargoExtensionStore } from '../services/embargo-extensions.js';
import { expireMemberships, MEMBERSHIP_EXPIRY_CHECK_MS } from '../services/membership-expiry.js';
import { flagUnseenIdentities } from '../services/unseen.js';
import { ForbiddenError } from '../../core/errors.js';

/** What a person who still has to accept the policy can reach: the policy, logout, mail confirmation. */
const POLICY_FREE = ['/policy', '/logout', '/verify-email'];
import './session.js';

export interface PortalApp {
  app: Express;
  close(): void;
}

export function createPortalApp(given: PortalDeps, options: { sessionFile: string; secure: boolean }): PortalApp {
  // Embargo extension requests: portal-local SQLite beside the sessions, unless given.
  const extensions = given.embargoExtensions ?? new EmbargoExtensionStore(join(dirname(options.sessionFile), 'embargo-extensions.sqlite'));
  const compliance = given.complianceReports ?? new ComplianceReportStore(join(dirname(options.sessionFile), 'compliance-reports.sqlite'));
  const deps: PortalDeps = { ...given, embargoExtensions: extensions, complianceReports: compliance };
  const log = createLogger('portal');
  const app = express();
  app.disable('x-powered-by');
  // The client address for the audit trail and rate limits: only trust X-Forwarded-For from the configured proxies.
  app.set('trust proxy', deps.config.reverseProxy.enabled ? deps.config.reverseProxy.trustedAddresses : false);

  app.use(helmet({
    contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], scriptSrc: ["'none'"], styleSrc: ["'self'"], imgSrc: ["'self'"], formAction: ["'self'"], frameAncestors: ["'none'"] } },
    strictTransportSecurity: options.secure,
  }));
  app.use('/static', express.static(join(VIEWS_DIR, 'static'), { maxAge: '1h', index: false }));
  // Liveness: the process answers. Readiness: it can serve logins (the directory answers) and its audit trail is whole.
  app.get('/health', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/ready', before(async (_req, res) => {
    const ldap = await deps.services.directory.contextCsn().then(() => 'ok', () => 'unavailable');
    const audit = deps.auditTrail.verify().ok ? 'intact' : 'broken';
    const ready = ldap === 'ok' && audit === 'intact';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', ldap, audit });
  }));

  // Agents publish signed compliance reports: the signature authenticates them, not a token or a session.
  app.use('/api/compliance-reports', complianceReceiveRoutes(deps));
  // The API authenticates with bearer tokens only, before any session or cookie is looked at.
  app.use('/api', apiRoutes(deps));

  const store = new SqliteSessionStore(options.sessionFile);
  app.use(session({
    name: options.secure ? '__Host-cg' : 'cg',
    secret: deps.config.sessionSecret ?? randomBytes(32).toString('hex'),
    store,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: { httpOnly: true, secure: options.secure, sameSite: 'lax', path: '/', maxAge: 8 * 3600_000 },
  }));
  app.use(express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 }));
  const { csrfSynchronisedProtection } = csrfSync({ getTokenFromRequest: (req) => (typeof req.body?._csrf === 'string' ? req.body._csrf : undefined) });
  app.use(keepDraftOnExpiredForm(csrfSynchronisedProtection, deps.config.publicUrl));

  app.use(before(async (req, res) => {
    req.actor = { username: undefined, isAdmin: false, identity: req.session.loginLabel ?? 'anonymous', ip: req.ip ?? '' };
    const username = req.session.username;
    if (!username) return;
    const person = await deps.services.directory.people.get(username);
    if (!person || !isActive(person.status)) {
      req.session.username = undefined; // no longer active (suspended, expired, ...) or deleted since login: the session ends here
      return;
    }
    req.actor = { ...req.actor, username, isAdmin: person.roles.includes('admin') };
    res.locals.mustAcceptPolicy = !agreementTo(person, deps.config.policy.id);
    // For the menu: pending requests across the campaigns this person leads (PI, admin role or not).
    if (req.method === 'GET') res.locals.pendingCount = await pendingCountFor(deps.services, username);
  }));
  // A new policy version (or none accepted yet): the policy page first, at the next request.
  app.use((req, res, next) => {
    if (!res.locals.mustAcceptPolicy || POLICY_FREE.some((p) => req.path === p || req.path.startsWith(`${p}/`))) return next();
    if (req.method === 'GET') return res.redirect('/policy');
    next(new ForbiddenError('accept the current usage policy first (/policy)'));
  });

  app.use(policyRoutes(deps));
  app.use(loginRoutes(deps));
  app.use(accountRoutes(deps));
  app.use(campaignRoutes(deps));
  app.use(adminRoutes(deps));
  app.use(compliancePageRoutes(deps));
  app.use(mailRoutes(deps));
  app.use((req, _res, next) => next(Object.assign(new Error(`nothing at ${req.path}`), { status: 404 })));
  app.use(errorHandler(deps, log));

  // Certificates expiring in 30/7/1 days: their owners are told by mail (once per threshold).
  const hours = deps.config.mail.expiryCheckHours;
  const sweep = () => void (async () => {
    if (!deps.notifier) return;
    await deps.notifier.certificateExpiryNotices();
    await flagUnseenIdentities(deps.services, deps.notifier, deps.auditTrail.all(), deps.config.mail.flagUnseenMonths);
  })().catch((err: unknown) => log.error({ err }, 'certificate expiry or unseen identity notices failed'));
  const expiryTimer = deps.notifier && hours > 0 ? setInterval(sweep, hours * 3600_000).unref() : undefined;
  const firstSweep = expiryTimer ? setTimeout(sweep, 60_000).unref() : undefined;
  // Membership ends are enforced with or without mail (the warnings need it): hourly, first after a minute.
  const expireRun = () => void expireMemberships(deps.services, deps.notifier, log)
    .then((r) => { if (r.expired.length || r.cleaned.length) log.info(r, 'membership expiry'); })
    .catch((err: unknown) => log.error({ err }, 'membership expiry failed'));
  const membershipTimer = setInterval(expireRun, MEMBERSHIP_EXPIRY_CHECK_MS).unref();
  const firstExpiry = setTimeout(expireRun, 60_000).unref();
  return {
    app,
    close: () => {
      clearInterval(expiryTimer);
      clearTimeout(firstSweep);
      clearInterval(membershipTimer);
      clearTimeout(firstExpiry);
      store.close();
      if (!given.embargoExtensions) extensions.close();
      if (!given.complianceReports) compliance.close();
    },
  };
}
