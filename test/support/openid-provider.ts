/**
 * A real OpenID Provider (the `oidc-provider` package) on 127.0.0.1 for tests: discovery,
 * authorization code + PKCE (required), token endpoint, JWKS, JWT access tokens for the portal's
 * audience (resource indicators). Logins are non-interactive: the interaction page logs in the
 * account named by `op.nextLogin` and grants the requested scopes, as a user clicking through
 * would. Accounts (with any `sub`, including hostile ones) are added with `op.accounts.set`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

export interface TestAccount {
  sub: string;
  email?: string;
  name?: string;
  preferred_username?: string;
}

export interface TestOp {
  issuer: string;
  provider: Provider;
  accounts: Map<string, TestAccount>;
  /** sub of the account the next interaction logs in (a person typing their password) */
  nextLogin: string | undefined;
  /** a redirect URI registered for the client */
  addRedirectUri(uri: string): void;
  close(): Promise<void>;
}

export const TEST_CLIENT = { id: 'campaign-guard-portal', secret: 'portal-secret-for-tests-only' };
export const TEST_AUDIENCE = 'campaign-guard';

export async function startTestOp(redirectUris: string[] = []): Promise<TestOp> {
  const accounts = new Map<string, TestAccount>();
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const redirects = [...redirectUris];
  const op = {
    issuer, accounts, nextLogin: undefined as string | undefined,
    addRedirectUri: (uri: string) => void redirects.push(uri),
  } as TestOp;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'test-op', alg: 'RS256', use: 'sig' }] },
    clients: [{ client_id: TEST_CLIENT.id, client_secret: TEST_CLIENT.secret, redirect_uris: redirects, grant_types: ['authorization_code'], response_types: ['code'] }],
    pkce: { required: () => true },
    cookies: { keys: ['test-op-cookie-key-0123456789abcdef'] },
    claims: { openid: ['sub'], email: ['email'], profile: ['name', 'preferred_username'] },
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => `urn:${TEST_AUDIENCE}`,
        useGrantedResource: () => true,
        // The portal's API scopes (server/config.ts apiScope, apiAdminScope), as a site's IAM would define them.
        getResourceServerInfo: () => ({ scope: 'openid profile email campaign-guard campaign-guard:admin', audience: TEST_AUDIENCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
      },
    },
    findAccount: async (_ctx, sub) => {
      const a = accounts.get(sub);
      return a ? { accountId: sub, claims: async () => ({ ...a }) } : undefined;
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  });
  provider.proxy = false;
  // Keep the registered redirect URIs live: tests add them after start (the portal's port is known later).
  const client = await provider.Client.find(TEST_CLIENT.id);
  Object.defineProperty(client!, 'redirectUris', { get: () => redirects });

  const callback = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const m = /^\/interaction\/([^/?]+)/.exec(req.url ?? '');
    if (!m) return void callback(req, res);
    (async () => {
      const details = await provider.interactionDetails(req, res);
      const sub = op.nextLogin;
      if (!sub || !accounts.has(sub)) {
        await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'no test login prepared' }, { mergeWithLastSubmission: false });
        return;
      }
      const grant = new provider.Grant({ accountId: sub, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope ?? 'openid'));
      grant.addResourceScope(`urn:${TEST_AUDIENCE}`, String(details.params.scope ?? 'openid'));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { login: { accountId: sub }, consent: { grantId } }, { mergeWithLastSubmission: false });
    })().catch((err: Error) => {
      res.statusCode = 500;
      res.end(err.message);
    });
  });
  op.provider = provider;
  op.close = () => new Promise((resolve) => server.close(() => resolve()));
  return op;
}

/** Follow redirects like a browser (keeping cookies per host) until a URL under `stopAt` is reached. */
export async function followLogin(startUrl: string, stopAt: string): Promise<URL> {
  const jar = new Map<string, string>();
  let url = new URL(startUrl);
  for (let hops = 0; hops < 20; hops++) {
    if (url.href.startsWith(stopAt)) return url;
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    const location = res.headers.get('location');
    if (!location) throw new Error(`login stopped at ${url.href} with HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
    url = new URL(location, url);
  }
  throw new Error('too many redirects');
}
