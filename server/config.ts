/**
 * The portal's configuration section (`portal:` in the config file, CG_PORTAL__* in the
 * environment), validated once at start-up. LDAP and number ranges come from core/ldap/config.ts.
 */
import { z } from 'zod';
import { envBoolean, envList } from '../core/config.js';
import { directoryConfigSchema } from '../core/ldap/config.js';
import { CRL_MODES } from './auth/certificate-chain.js';
import { NAMESPACE_MODES } from './auth/trust/namespace-check.js';

export const oidcProviderSchema = z.object({
  /** short id used in URLs, e.g. "iam" */
  id: z.string().regex(/^[a-z0-9-]{1,32}$/),
  name: z.string().min(1),
  issuer: z.string().url(),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1).optional(),
  scopes: z.string().default('openid profile email'),
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
      /** CA namespace policies, with dCache's names and default (dcache.authn.namespace-mode): see server/auth/trust/namespace-check.ts. */
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
  policy: z.object({ id: z.string().min(1), url: z.string().min(1) }).default({ id: 'aup-1', url: '/policy' }),
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
  apiClients: z.array(z.string()).default([]),
  /** Login attempts per client address per 15 minutes. */
  loginRateLimit: z.coerce.number().int().positive().default(30),
});

export const portalConfigSchema = directoryConfigSchema.extend({
  portal: portalSectionSchema.default(portalSectionSchema.parse({})),
});

export type PortalSection = z.infer<typeof portalSectionSchema>;
export type PortalConfig = z.infer<typeof portalConfigSchema>;
export type OidcProviderConfig = z.infer<typeof oidcProviderSchema>;
