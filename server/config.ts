/**
 * The portal's configuration section (`portal:` in the config file, CG_PORTAL__* in the
 * environment), validated once at start-up, with the rules that tie fields together (TLS or a
 * reverse proxy, at least one login method, OIDC provider ids and the staff issuer, who may
 * forward certificates). LDAP and number ranges come from core/ldap/config.ts.
 */
import { z } from 'zod';
import { envBoolean, envList } from '../core/config.js';
import { directoryConfigSchema } from '../core/ldap/config.js';
import { CRL_MODES } from './auth/certificate-chain.js';
import { NAMESPACE_MODES } from '../core/pki/namespace-check.js';

export const oidcProviderSchema = z.object({
  /** short id used in URLs, e.g. "iam" */
  id: z.string().regex(/^[a-z0-9-]{1,32}$/),
  name: z.string().min(1),
  issuer: z.string().url(),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1).optional(),
  scopes: z.string().default('openid profile email'),
  /** The name dCache knows this provider by (gplazma.oidc.provider!ALIAS): lets the portal refuse identities dCache would confuse. */
  gplazmaAlias: z.string().regex(/^[A-Za-z0-9._-]+$/).optional(),
});

export const portalSectionSchema = z.object({
  host: z.string().default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8443),
  /** The URL users reach the portal at (redirect URIs, cookies). */
  publicUrl: z.string().url().default('https://localhost:8443'),
  /** Directory for the portal's SQLite files (sessions, audit trail). */
  dataDir: z.string().default('var/portal'),
  sessionSecret: z.string().min(32, 'sessionSecret needs at least 32 characters').optional(),
  tls: z
    .object({
      certFile: z.string().optional(),
      keyFile: z.string().optional(),
      /** CA certificates that issue user certificates (trust anchors for client certificates). */
      clientCaFiles: envList(z.string()).default([]),
      crlFiles: envList(z.string()).default([]),
      /** CA namespace policies, with dCache's names and default (dcache.authn.namespace-mode): see core/pki/namespace-check.ts. */
      namespaceMode: z.enum(NAMESPACE_MODES).default('EUGRIDPMA_AND_GLOBUS_REQUIRE'),
      /** CRLs, with dCache's names and default (dcache.authn.crl-mode): REQUIRE, IF_VALID or IGNORE. */
      crlMode: z.enum(CRL_MODES).default('REQUIRE'),
      /** How often (at most) the trust directory is checked for changes (fetch-crl, new CAs). */
      trustRefreshSeconds: z.coerce.number().int().min(0).max(86400).default(60),
    })
    .default({ clientCaFiles: [], crlFiles: [], namespaceMode: 'EUGRIDPMA_AND_GLOBUS_REQUIRE', crlMode: 'REQUIRE', trustRefreshSeconds: 60 }),
  reverseProxy: z
    .object({
      enabled: envBoolean.default(false),
      /** Only requests from these addresses may forward a client certificate. */
      trustedAddresses: envList(z.string()).default([]),
      /** Header holding the URL-encoded PEM chain, as nginx's $ssl_client_escaped_cert. */
      certHeader: z.string().default('x-ssl-client-cert'),
    })
    .default({ enabled: false, trustedAddresses: [], certHeader: 'x-ssl-client-cert' }),
  oidcProviders: z.array(oidcProviderSchema).default([]),
  /**
   * The usage policy: `id` is its version (a new id makes everyone accept again at their next
   * request), `url` where it is read (the portal serves /policy), its text inline or from `file`.
   */
  policy: z
    .object({
      id: z.string().min(1).max(100).regex(/^\S+$/, 'policy.id: no spaces (it is stored as the first word of voPersonPolicyAgreement)'),
      url: z.string().min(1).default('/policy'),
      title: z.string().min(1).default('Usage policy'),
      text: z.string().optional(),
      file: z.string().optional(),
    })
    .default({ id: 'aup-1', url: '/policy', title: 'Usage policy' }),
  /** Notifications by e-mail (core/mail/mailer.ts); only verified addresses get mail, the verification link excepted. */
  mail: z
    .object({
      /** nodemailer URL, e.g. smtp://mail.example.org:25; empty = messages are logged, not sent */
      smtpUrl: z.string().default(''),
      from: z.string().min(3).default('campaign-guard@localhost'),
      /** How often to look for certificates expiring in 30/7/1 days and tell their owners (0 = never). */
      expiryCheckHours: z.coerce.number().min(0).max(24 * 7).default(24),
      /** How long an e-mail verification link stays valid. */
      verifyHours: z.coerce.number().int().min(1).max(24 * 30).default(72),
      /**
       * Identities not seen (no login, no binding) for this many months are flagged by mail to their
       * owner and the admins, once; nothing is removed (0 = off). Checked with the expiry sweep.
       */
      flagUnseenMonths: z.coerce.number().int().min(0).max(120).default(0),
    })
    .default({ smtpUrl: '', from: 'campaign-guard@localhost', expiryCheckHours: 24, verifyHours: 72, flagUnseenMonths: 0 }),
  /** Staff of the home institute: logging in through this issuer creates their account without a form. */
  staff: z
    .object({ issuer: z.string().url().optional(), usernames: envList(z.string()).default([]) })
    .default({ usernames: [] }),
  /** Audience API bearer tokens must carry. */
  apiAudience: z.string().default('campaign-guard'),
  /** Scope every API access token must carry (the `scope` claim, RFC 9068 / RFC 8693 §4.2, or Keycloak's/Entra's `scp`). */
  apiScope: z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/).default('campaign-guard'),
  /** Scope the admin operations of the API need, in addition to the person's admin role. */
  apiAdminScope: z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/).default('campaign-guard:admin'),
  /** Client ids (`client_id`, else `azp`) whose tokens the API accepts; empty = any client of a configured provider. */
  apiClients: envList(z.string()).default([]),
  /** Login attempts per client address per 15 minutes. */
  loginRateLimit: z.coerce.number().int().positive().default(30),
  /**
   * Signed compliance reports from the mapper agents (docs/compliance.md), received at
   * POST /api/compliance-reports: only from the agent hosts listed here, by the grid DN of their
   * signing (host) certificate, which must chain to the trust directory of certificate logins.
   */
  complianceReports: z
    .object({
      /** Grid DNs (slash form, as dCache prints them) of the agent hosts' signing certificates; from the environment one a line (a DN may hold commas). */
      agentHosts: z.preprocess(
        (v) => (typeof v === 'string' ? v.split('\n').map((s) => s.trim()).filter(Boolean) : v),
        z.array(z.string().regex(/^\/[^\n]{2,1000}$/, 'a grid DN in slash form, e.g. /DC=org/DC=example/CN=storage1.example.org')),
      ).default([]),
      /** A report dated more than this far in the future (the agent's clock) is refused. */
      maxSkewSeconds: z.coerce.number().int().min(0).max(86400).default(300),
      /** The pages warn when a host's latest report is older than this. */
      staleHours: z.coerce.number().positive().max(24 * 365).default(48),
      /** Largest request body accepted (all campaign documents of one report). */
      maxBytes: z.coerce.number().int().min(4096).max(64 * 1024 * 1024).default(8 * 1024 * 1024),
      /** Publications accepted per minute from one address before 429: checking a signature costs CPU, and anyone can send one. */
      rateLimitPerMinute: z.coerce.number().int().min(1).max(10000).default(30),
    })
    .strict()
    .default({ agentHosts: [], maxSkewSeconds: 300, staleHours: 48, maxBytes: 8 * 1024 * 1024, rateLimitPerMinute: 30 }),
});

export type PortalSection = z.infer<typeof portalSectionSchema>;

/** Rules across fields of the portal section; paths are relative to it. */
export function portalSectionIssues(p: PortalSection): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  const { tls, reverseProxy } = p;
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) {
    issues.push({ path: ['tls', tls.certFile ? 'keyFile' : 'certFile'], message: 'give tls.certFile and tls.keyFile together' });
  }
  if (!tls.certFile && !reverseProxy.enabled) {
    issues.push({ path: ['tls', 'certFile'], message: 'tls.certFile and keyFile are required, unless reverseProxy.enabled (TLS ends at the proxy)' });
  }
  if (tls.clientCaFiles.length === 0 && p.oidcProviders.length === 0) {
    issues.push({ path: ['tls', 'clientCaFiles'], message: 'configure tls.clientCaFiles (certificate login) or oidcProviders (OpenID Connect login), or both' });
  }
  if (reverseProxy.enabled && tls.clientCaFiles.length > 0 && reverseProxy.trustedAddresses.length === 0) {
    issues.push({ path: ['reverseProxy', 'trustedAddresses'], message: 'list the proxy addresses allowed to forward client certificates (certificate login behind a reverse proxy)' });
  }
  const ids = p.oidcProviders.map((o) => o.id);
  ids.forEach((id, i) => {
    if (ids.indexOf(id) !== i) issues.push({ path: ['oidcProviders', String(i), 'id'], message: `provider id ${id} is used twice` });
  });
  if (p.complianceReports.agentHosts.length && !tls.clientCaFiles.length) {
    issues.push({ path: ['complianceReports', 'agentHosts'], message: 'agent hosts sign their reports with certificates: configure tls.clientCaFiles (the trust directory their chains are checked against)' });
  }
  if (p.staff.issuer && !p.oidcProviders.some((o) => o.issuer === p.staff.issuer)) {
    issues.push({ path: ['staff', 'issuer'], message: 'must be the issuer of one of oidcProviders' });
  }
  return issues;
}

/** What every portal command reads (audit commands need no TLS or login method). */
export const portalConfigSchema = directoryConfigSchema.extend({
  portal: portalSectionSchema.default(portalSectionSchema.parse({})),
});

/** What `serve` (and the demo) reads: the same, with the cross-field rules of a running portal. */
export const servePortalConfigSchema = portalConfigSchema.superRefine((cfg, ctx) => {
  for (const issue of portalSectionIssues(cfg.portal)) ctx.addIssue({ code: 'custom', path: ['portal', ...issue.path], message: issue.message });
});

export type PortalConfig = z.infer<typeof portalConfigSchema>;
export type OidcProviderConfig = z.infer<typeof oidcProviderSchema>;
