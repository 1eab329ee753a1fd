/**
 * The main job for a newcomer (`bash scripts/demo.sh`): the portal on the embedded default — a
 * managed slapd under var/slapd with the project's schema, demo people and campaigns, a demo CA
 * and PKCS#12 certificates to import into a browser. Everything lives under var/ and is reused on
 * the next start; delete var/ to start over. Stop with Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../core/config.js';
import { servePortalConfigSchema } from '../server/config.js';
import { startPortal } from '../server/portal.js';
import { seedDemoDirectory } from './demo-directory.js';
import { DEMO_P12_PASSWORD, ensureDemoPki } from './demo-pki.js';

export async function startDemo(options: { varDir?: string; port?: number } = {}) {
  const varDir = resolve(options.varDir ?? 'var');
  const pki = await ensureDemoPki(varDir);
  const secretFile = join(varDir, 'demo', 'session-secret');
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const cfg = loadConfig(servePortalConfigSchema, {
    env: {
      ...process.env,
      CG_PORTAL__PORT: String(options.port ?? process.env.CG_PORTAL__PORT ?? 8443),
      CG_PORTAL__DATA_DIR: join(varDir, 'portal'),
      CG_PORTAL__SESSION_SECRET: readFileSync(secretFile, 'utf8'),
      CG_PORTAL__TLS__CERT_FILE: pki.serverCertFile,
      CG_PORTAL__TLS__KEY_FILE: pki.serverKeyFile,
      CG_PORTAL__TLS__CLIENT_CA_FILES: pki.trustDir,
      CG_PORTAL__TLS__CRL_FILES: pki.trustDir,
    },
  });
  cfg.portal.publicUrl = `https://localhost:${cfg.portal.port}`;
  const portal = await startPortal(cfg, { varDir });
  const dir = portal.directory.directory;
  const seeded = await seedDemoDirectory(dir);
  await dir.identities.bind(seeded.pi.username, { type: 'x509', subject: pki.subjects.pat, issuer: '/DC=org/DC=example/CN=campaign-guard Demo CA' });
  return { portal, pki, seeded };
}

if (process.argv[1] && /demo\/demo\.(ts|js)$/.test(process.argv[1])) {
  const { portal, pki } = await startDemo();
  console.log(`
campaign-guard demo portal: ${portal.url}
  LDAP: managed slapd ${portal.directory.slapd?.url ?? ''} (data in var/slapd)

Log in with a certificate: import one of these PKCS#12 files into your browser (password "${DEMO_P12_PASSWORD}"),
and accept the demo server certificate (or trust ${pki.caFile}):
  ${pki.p12.pat}       Pat Investigator: PI of the campaigns, admin
  ${pki.p12.newcomer}  Nina Newcomer: no account yet, registers on first login

The mapper agent can run beside it: npm run mapper-agent -- sync   (writes var/agent/multi-mapfile)
Stop with Ctrl-C; delete var/ to start from scratch.
`);
  const stop = async () => {
    await portal.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
