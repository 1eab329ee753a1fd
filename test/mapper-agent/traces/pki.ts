/**
 * Certificates for the trace tests, made with server/pki.ts: a CA in an IGTF-style directory
 * (HASH.0, HASH.r0 named by `openssl x509 -hash`), host certificates for the agent (the demo CA
 * issues none: a site uses its IGTF host certificate), written as hostcert.pem / hostkey.pem.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { createCa, createCrl, issue, type CertOptions, type Issued } from '../../support/pki.js';

export interface TestPki {
  ca: Issued;
  /** IGTF-style trust directory: <hash>.0 and, after writeCrl, <hash>.r0 */
  dir: string;
  hash: string;
  /** a host certificate and key in PEM files */
  host(name: string, o?: CertOptions, by?: Issued): Promise<{ issued: Issued; certFile: string; keyFile: string }>;
  writeCrl(revoked: x509.X509Certificate[], o?: { nextUpdate?: Date; thisUpdate?: Date }): Promise<void>;
  removeCrl(): void;
}

export async function makePki(base: string, caName = 'CN=Trace Test CA,O=campaign-guard tests'): Promise<TestPki> {
  const ca = await createCa(caName);
  const dir = join(base, 'certificates');
  mkdirSync(dir, { recursive: true });
  const caFile = join(base, `ca-${Date.now()}.pem`);
  writeFileSync(caFile, ca.certPem);
  const hash = execFileSync('openssl', ['x509', '-hash', '-noout', '-in', caFile], { encoding: 'utf8' }).trim();
  writeFileSync(join(dir, `${hash}.0`), ca.certPem);
  let n = 0;
  const pki: TestPki = {
    ca, dir, hash,
    async host(name, o = {}, by = ca) {
      const issued = await issue(by, `CN=${name},O=campaign-guard tests`, 'server', { ...o, dnsNames: [name] });
      const stem = join(base, `host-${name}-${++n}`);
      writeFileSync(`${stem}.cert.pem`, issued.certPem);
      writeFileSync(`${stem}.key.pem`, issued.keyPem, { mode: 0o600 });
      return { issued, certFile: `${stem}.cert.pem`, keyFile: `${stem}.key.pem` };
    },
    async writeCrl(revoked, o = {}) {
      const crl = await createCrl(ca, revoked, o);
      writeFileSync(join(dir, `${hash}.r0`), x509.PemConverter.encode(crl.rawData, 'X509 CRL')); // the label openssl reads
    },
    removeCrl() {
      rmSync(join(dir, `${hash}.r0`), { force: true });
    },
  };
  await pki.writeCrl([]);
  return pki;
}
