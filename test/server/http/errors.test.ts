/**
 * Every failing dependency is named as itself, to the browser, to API clients and in the code
 * they can branch on: the directory (real LdapConnection to a port where nothing listens), the
 * OpenID provider (real openid-client and jose against an issuer that does not answer) and the
 * mail server (the error a mail sender raises, through the same handler).
 */
import { expect } from 'chai';
import express from 'express';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { SignJWT, generateKeyPair } from 'jose';
import { Directory } from '../../../core/directory/index.js';
import { ConflictError, DirectoryUnavailableError, MailUnavailableError, OpenIdProviderUnavailableError, ValidationError } from '../../../core/errors.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { LdapConnection } from '../../../core/ldap/connection.js';
import { freeLoopbackPort } from '../../../core/ldap/managed-slapd.js';
import { createLogger } from '../../../core/log.js';
import { AuditTrail } from '../../../server/audit/trail.js';
import { JwtBearerVerifier } from '../../../server/auth/bearer.js';
import { OpenIdConnectLogin } from '../../../server/auth/oidc.js';
import { portalSectionSchema } from '../../../server/config.js';
import { createPortalApp } from '../../../server/http/app.js';
import { errorBody, errorHandler, headingOf, statusOf } from '../../../server/http/errors.js';
import { createViewRenderer } from '../../../server/views.js';

async function listen(app: express.Express): Promise<{ base: string; server: Server }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('server/http/errors: each failing dependency is named as itself', function () {
  this.timeout(20000);
  let base: string;
  let server: Server;
  let close: () => void;
  let deadIssuer: string;

  before(async () => {
    const deadLdap = await freeLoopbackPort();
    deadIssuer = `http://127.0.0.1:${await freeLoopbackPort()}/`;
    const dir = mkdtempSync(join(tmpdir(), 'cg-http-errors-'));
    const ldap = new LdapConnection({ url: `ldap://127.0.0.1:${deadLdap}`, bindDn: 'cn=x', password: 'x', connectTimeoutMs: 500, operationTimeoutMs: 1000 });
    const providers = [{ id: 'dead', name: 'Dead IAM', issuer: deadIssuer, clientId: 'c', clientSecret: 's', scopes: 'openid' }];
    const oidc = new OpenIdConnectLogin(providers);
    const audit = new AuditTrail(join(dir, 'audit.sqlite'));
    const portal = createPortalApp({
      services: { directory: new Directory({ ldap, baseDn: 'dc=example', ranges: rangesConfigSchema.parse({}) }), audit },
      auditTrail: audit,
      views: createViewRenderer(),
      config: portalSectionSchema.parse({ publicUrl: 'http://127.0.0.1:1', oidcProviders: providers }),
      certificateLogin: { identify: async () => ({ input: { type: 'x509', subject: '/CN=Someone' }, label: '/CN=Someone' }) },
      oidcLogin: oidc,
      bearer: new JwtBearerVerifier(providers, oidc, 'campaign-guard'),
    }, { sessionFile: join(dir, 'sessions.sqlite'), secure: false });
    ({ base, server } = await listen(portal.app));
    close = () => {
      server.close();
      portal.close();
      audit.close();
      void ldap.close();
    };
  });
  after(() => close());

  it('the directory: a login that needs LDAP says the directory is not available', async () => {
    const res = await fetch(`${base}/login/certificate`, { redirect: 'manual' });
    const html = await res.text();
    expect(res.status).to.equal(503);
    expect(html).to.include('The directory is not available');
    expect(html).to.not.include('OpenID provider');
  });

  it('the OpenID provider: an unreachable provider is named, not the directory', async () => {
    const res = await fetch(`${base}/login/oidc/dead`, { redirect: 'manual' });
    const html = await res.text();
    expect(res.status).to.equal(503);
    expect(html).to.include('The OpenID provider is not available').and.include('Dead IAM');
    expect(html).to.not.include('directory');
  });

  it('the OpenID provider behind a bearer token: the API answers 503 with its code and dependency', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT({ sub: 's' }).setProtectedHeader({ alg: 'ES256' }).setIssuer(deadIssuer).setAudience('campaign-guard').setExpirationTime('5m').sign(privateKey);
    const res = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.json() as Record<string, unknown>;
    expect(res.status).to.equal(503);
    expect(body).to.deep.include({ code: 'ERR_OPENID_PROVIDER_UNAVAILABLE', dependency: 'openid-provider' });
    expect(String(body.error)).to.include('Dead IAM').and.not.include('directory');
  });

  it('the mail server: a mail failure reaching the handler is named as the mail server, with its cause logged', async () => {
    const app = express();
    app.get('/mail', () => {
      throw new MailUnavailableError('smtp://mail.example.org:25 refused the connection', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    });
    app.get('/api/mail', () => {
      throw new MailUnavailableError('smtp://mail.example.org:25 refused the connection');
    });
    const logged: unknown[] = [];
    const log = createLogger('test');
    const spy = Object.assign(Object.create(log), { error: (o: unknown) => void logged.push(o), info: () => undefined });
    app.use(errorHandler({ views: createViewRenderer() }, spy));
    const { base: b, server: s } = await listen(app);
    try {
      const page = await fetch(`${b}/mail`);
      expect(page.status).to.equal(503);
      expect(await page.text()).to.include('The mail server is not available').and.not.include('directory');
      const api = await fetch(`${b}/api/mail`);
      expect(await api.json()).to.deep.include({ code: 'ERR_MAIL_UNAVAILABLE', dependency: 'mail' });
      expect(logged[0]).to.deep.include({ dependency: 'mail', code: 'ERR_MAIL_UNAVAILABLE' });
      expect(((logged[0] as { err: Error }).err.cause as { code: string }).code).to.equal('ECONNREFUSED');
    } finally {
      s.close();
    }
  });

  it('maps every project error to its status, heading and structured body', () => {
    expect(statusOf(new DirectoryUnavailableError('x'))).to.equal(503);
    expect(headingOf(new DirectoryUnavailableError('x'), 503)).to.equal('The directory is not available');
    expect(headingOf(new OpenIdProviderUnavailableError('x'), 503)).to.equal('The OpenID provider is not available');
    expect(statusOf(new ConflictError('x'))).to.equal(409);
    expect(statusOf(Object.assign(new Error('x'), { status: 413 }))).to.equal(413);
    expect(statusOf(new Error('x'))).to.equal(500);
    const v = ValidationError.of([{ path: 'username', message: 'too short' }, { path: 'email', message: 'not an address' }]);
    expect(errorBody(v, 400, v.message)).to.deep.equal({
      error: 'too short; not an address', status: 400, code: 'ERR_VALIDATION',
      issues: [{ path: 'username', message: 'too short' }, { path: 'email', message: 'not an address' }],
    });
    expect(errorBody(new Error('x'), 500, 'ours')).to.deep.equal({ error: 'ours', status: 500 });
  });
});
