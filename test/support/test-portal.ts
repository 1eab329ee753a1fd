/**
 * A complete portal for tests: real slapd (the caller's fixture), a test CA with people's
 * certificates and a CRL, a real OpenID Provider on loopback, the portal over real TLS on a free
 * port, an admin PI `pat` and a campaign `flare` under embargo.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { servePortalConfigSchema } from '../../server/config.js';
import { startPortal, type RunningPortal } from '../../server/portal.js';
import { freeLoopbackPort } from '../../core/ldap/managed-slapd.js';
import { createCa, createCrl, issue, type Issued } from './pki.js';
import { installCa } from '../../core/pki/install-ca.js';
import { startTestOp, TEST_AUDIENCE, TEST_CLIENT, type TestOp } from './openid-provider.js';
import type { SlapdFixture } from './slapd.js';

export interface TestPortal {
  portal: RunningPortal;
  op: TestOp;
  base: string;
  ca: Issued;
  /** the portal's IGTF trust directory (HASH.0, HASH.r0, HASH.namespaces, HASH.signing_policy) */
  trustDir: string;
  people: { nina: Issued; pat: Issued; mallory: Issued };
  /** PEM files of each person's certificate and key (for browsers) */
  files: Record<'nina' | 'pat' | 'mallory', { cert: string; key: string }>;
  close(): Promise<void>;
}

/** `portal` overrides keys of the portal section (e.g. `mail` for the notification tests). */
export async function startTestPortal(fx: SlapdFixture, overrides: { portal?: Record<string, unknown> } = {}): Promise<TestPortal> {
  const ca = await createCa([{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Portal Test CA'] }]);
  const server = await issue(ca, [{ CN: ['localhost'] }], 'server', { dnsNames: ['localhost', '127.0.0.1'] });
  const people = {
    nina: await issue(ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Nina Newcomer'] }], 'user'),
    pat: await issue(ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Pat PI'] }], 'user'),
    mallory: await issue(ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Mallory'] }], 'user'),
  };
  const dir = mkdtempSync(join(tmpdir(), 'cg-portal-'));
  const f = (n: string, c: string) => (writeFileSync(join(dir, n), c), join(dir, n));
  const files = Object.fromEntries(Object.entries(people).map(([k, v]) => [k, { cert: f(`${k}.pem`, v.certPem), key: f(`${k}.key`, v.keyPem) }])) as TestPortal['files'];
  const trustDir = join(dir, 'certificates');
  mkdirSync(trustDir);
  installCa(trustDir, { certPem: ca.certPem, crlPem: (await createCrl(ca, [people.mallory.cert])).toString('pem'), namespacePrefix: '/DC=org/DC=example/' });
  const port = await freeLoopbackPort();
  const base = `https://localhost:${port}`;
  const op = await startTestOp([`${base}/login/oidc/test/callback`]);
  op.accounts.set('nina-iam', { sub: 'nina-iam', email: 'nina@example.org', preferred_username: 'nina' });
  op.accounts.set('pat-iam', { sub: 'pat-iam' });
  op.accounts.set('sam-staff', { sub: 'sam-staff', preferred_username: 'sam', name: 'Sam Staff', email: 'sam@home.example' });
  const cfg = servePortalConfigSchema.parse({
    ldap: { url: fx.slapd.url, bindDn: fx.slapd.portal.dn, password: fx.slapd.portal.password, baseDn: fx.slapd.baseDn },
    portal: {
      port, publicUrl: base, dataDir: join(dir, 'data'), sessionSecret: 'x'.repeat(40),
      // An IGTF trust directory as dCache reads it, for both lists (README's configuration); reloaded on change.
      tls: { certFile: f('server.pem', server.certPem), keyFile: f('server.key', server.keyPem), clientCaFiles: [trustDir], crlFiles: [trustDir], trustRefreshSeconds: 0 },
      oidcProviders: [{ id: 'test', name: 'Test IAM', issuer: op.issuer, clientId: TEST_CLIENT.id, clientSecret: TEST_CLIENT.secret }],
      apiAudience: TEST_AUDIENCE, policy: { id: 'aup-2026', url: '/policy' }, loginRateLimit: 1000,
      staff: { issuer: op.issuer, usernames: ['sam'] },
      ...overrides.portal,
    },
  });
  const portal = await startPortal(cfg);
  const d = portal.directory.directory;
  await d.people.create({ username: 'pat', displayName: 'Pat PI', roles: ['admin'], policyAgreements: ['aup-2026'] });
  await d.identities.bind('pat', { type: 'x509', subject: '/DC=org/DC=example/CN=Pat PI' });
  await d.campaigns.create({ name: 'flare', pi: 'pat', embargoEnd: new Date('2030-01-01T00:00:00Z'), description: 'Solar flare campaign' });
  return {
    portal, op, base, ca, trustDir, people, files,
    async close() {
      await portal.close();
      await op.close();
    },
  };
}
