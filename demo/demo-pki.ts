/**
 * The demo's certificates under var/demo/, made once and reused: a demo CA (trusted by the
 * portal for client certificates), the portal's server certificate for localhost, and PKCS#12
 * files for the demo people to import into a browser (password "demo"): pat (PI and admin) and a
 * newcomer who has no account yet (to try registration).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, createCrl, issue, pkcs12 } from '../test/support/pki.js';
import { installCa } from '../core/pki/install-ca.js';

export const DEMO_P12_PASSWORD = 'demo';

export interface DemoPki {
  dir: string;
  caFile: string;
  crlFile: string;
  /** the demo's IGTF trust directory (HASH.0, HASH.r0, namespaces): what the portal trusts, as dCache would */
  trustDir: string;
  serverCertFile: string;
  serverKeyFile: string;
  /** username or label -> PKCS#12 path */
  p12: Record<'pat' | 'newcomer', string>;
  /** grid DN of each demo certificate */
  subjects: Record<'pat' | 'newcomer', string>;
  /** PEM files for tools (and the browser test): certificate and key */
  pem: Record<'pat' | 'newcomer', { cert: string; key: string }>;
}

export async function ensureDemoPki(varDir: string): Promise<DemoPki> {
  const dir = join(varDir, 'demo');
  const f = (name: string) => join(dir, name);
  const pki: DemoPki = {
    dir, caFile: f('ca.pem'), crlFile: f('ca.crl.pem'), trustDir: f('certificates'), serverCertFile: f('server.pem'), serverKeyFile: f('server.key'),
    p12: { pat: f('pat.p12'), newcomer: f('newcomer.p12') },
    subjects: { pat: '/DC=org/DC=example/O=Demo Observatory/CN=Pat Investigator', newcomer: '/DC=org/DC=example/O=Demo Observatory/CN=Nina Newcomer' },
    pem: { pat: { cert: f('pat.pem'), key: f('pat.key') }, newcomer: { cert: f('newcomer.pem'), key: f('newcomer.key') } },
  };
  if (existsSync(f('done'))) return withTrustDirectory(pki);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await createCa([{ DC: ['org'] }, { DC: ['example'] }, { CN: ['campaign-guard Demo CA'] }]);
  const server = await issue(ca, [{ CN: ['localhost'] }], 'server', { dnsNames: ['localhost', '127.0.0.1'] });
  writeFileSync(pki.caFile, ca.certPem);
  writeFileSync(pki.crlFile, (await createCrl(ca, [], { nextUpdate: new Date(Date.now() + 3650 * 86400_000) })).toString('pem'));
  writeFileSync(pki.serverCertFile, server.certPem);
  writeFileSync(pki.serverKeyFile, server.keyPem, { mode: 0o600 });
  for (const [who, cn] of [['pat', 'Pat Investigator'], ['newcomer', 'Nina Newcomer']] as const) {
    const user = await issue(ca, [{ DC: ['org'] }, { DC: ['example'] }, { O: ['Demo Observatory'] }, { CN: [cn] }], 'user');
    writeFileSync(pki.p12[who], pkcs12(user, [ca.cert], DEMO_P12_PASSWORD, `campaign-guard demo: ${cn}`), { mode: 0o600 });
    writeFileSync(pki.pem[who].cert, user.certPem);
    writeFileSync(pki.pem[who].key, user.keyPem, { mode: 0o600 });
  }
  writeFileSync(f('done'), new Date().toISOString());
  return withTrustDirectory(pki);
}

/** The demo CA laid into an IGTF trust directory, with a namespace policy for the demo's subjects (made once). */
function withTrustDirectory(pki: DemoPki): DemoPki {
  if (existsSync(pki.trustDir)) return pki;
  mkdirSync(pki.trustDir, { recursive: true });
  installCa(pki.trustDir, { certPem: readFileSync(pki.caFile, 'utf8'), crlPem: readFileSync(pki.crlFile, 'utf8'), namespacePrefix: '/DC=org/DC=example/' });
  return pki;
}

export function readPem(path: string): string {
  return readFileSync(path, 'utf8');
}
