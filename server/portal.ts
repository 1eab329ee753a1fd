/**
 * Starts the registration portal from a validated configuration: the directory (configured LDAP,
 * or the managed slapd under var/), the audit trail and sessions (SQLite under portal.dataDir),
 * certificate and OpenID Connect login, and an HTTPS server that asks browsers for a client
 * certificate but lets the handshake finish without one (the chain is verified in code, proxies
 * included). Behind a reverse proxy, set reverseProxy.enabled and serve plain HTTP on loopback
 * (no tls.certFile).
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../core/log.js';
import { checkDirectory, openDirectory, summarise, type OpenDirectory } from '../core/directory/index.js';
import type { PortalConfig } from './config.js';
import { AuditTrail } from './audit/trail.js';
import { loadTrustStore } from './auth/certificate-chain.js';
import { TlsCertificateLogin } from './auth/certificate-login.js';
import { OpenIdConnectLogin } from './auth/oidc.js';
import { JwtBearerVerifier } from './auth/bearer.js';
import { createPortalApp } from './http/app.js';
import { createViewRenderer } from './views.js';
import { Notifier } from './services/notifications.js';

export interface RunningPortal {
  url: string;
  port: number;
  directory: OpenDirectory;
  audit: AuditTrail;
  notifier: Notifier;
  close(): Promise<void>;
}

/** Start the portal; `cfg` comes from servePortalConfigSchema, which holds the rules across fields. */
export async function startPortal(cfg: PortalConfig, options: { varDir?: string } = {}): Promise<RunningPortal> {
  const log = createLogger('portal');
  const p = cfg.portal;
  mkdirSync(p.dataDir, { recursive: true, mode: 0o700 });
  const secure = !!p.tls.certFile;

  const directory = await openDirectory(cfg, { varDir: options.varDir ?? 'var', account: 'portal', log });
  // Every append's signed head goes to the log too: a copy of the chain's end outside this host's files.
  const audit = new AuditTrail(join(p.dataDir, 'audit.sqlite'), { onHead: (head) => log.info({ auditHead: head }, 'audit trail head') });
  const trust = loadTrustStore(p.tls.clientCaFiles, p.tls.crlFiles, {
    namespaceMode: p.tls.namespaceMode, crlMode: p.tls.crlMode, refreshSeconds: p.tls.trustRefreshSeconds,
    onLoad: (t) => {
      log.info({ cas: t.cas.length, crls: t.crls.length, namespacePolicies: t.euGridPma.length, signingPolicies: t.globus.length }, 'trust loaded');
      for (const problem of t.problems) log.error({ problem }, 'trust file not used');
    },
  });
  const notifier = new Notifier(join(p.dataDir, 'mail.sqlite'), directory.directory, p.mail, p.publicUrl, log);
  const oidc = new OpenIdConnectLogin(p.oidcProviders);
  const portalApp = createPortalApp(
    {
      services: { directory: directory.directory, audit, notify: notifier, gplazmaAliases: new Map(p.oidcProviders.filter((o) => o.gplazmaAlias).map((o) => [o.issuer, o.gplazmaAlias!])) },
      notifier,
      auditTrail: audit,
      views: createViewRenderer(),
      config: p,
      certificateLogin: new TlsCertificateLogin(trust, p),
      trust,
      oidcLogin: oidc,
      bearer: new JwtBearerVerifier(p.oidcProviders, oidc, p.apiAudience, { scope: p.apiScope, clients: p.apiClients }),
    },
    { sessionFile: join(p.dataDir, 'sessions.sqlite'), secure },
  );

  let server: HttpsServer | HttpServer;
  if (secure) {
    server = createHttpsServer({
      key: readFileSync(p.tls.keyFile!), cert: readFileSync(p.tls.certFile!),
      requestCert: true, rejectUnauthorized: false, // verified in code: proxies, CRLs, clear refusal pages
      ...(trust.current().cas.length ? { ca: trust.current().cas.map((a) => a.cert.toString('pem')) } : {}), // CA names the browser may pick from (as at start)
      minVersion: 'TLSv1.2',
    }, portalApp.app);
  } else {
    server = createHttpServer(portalApp.app);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p.port, p.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${secure ? 'https' : 'http'}://${p.host === '127.0.0.1' ? 'localhost' : p.host}:${port}`;
  log.info({ url, ldap: directory.slapd ? `managed slapd ${directory.slapd.url}` : cfg.ldap.url }, 'portal listening');
  // The directory's consistency (campaign-guard doctor), checked once at start in the background:
  // a summary line, and each finding at warn level for the operator.
  const consistency = checkDirectory(directory.directory).then(
    (findings) => {
      for (const f of findings) log.warn({ check: f.check, dn: f.dn, safe: f.safe }, f.detail);
      (findings.length ? log.warn.bind(log) : log.info.bind(log))({ findings: findings.length }, `directory consistency: ${summarise(findings)}${findings.length ? ' (campaign-guard doctor --fix repairs the safe ones)' : ''}`);
    },
    (err: unknown) => log.warn({ err }, 'directory consistency check failed'),
  );
  return {
    url, port, directory, audit, notifier,
    async close() {
      await consistency;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
      portalApp.close();
      notifier.close();
      audit.close();
      await directory.close();
    },
  };
}
