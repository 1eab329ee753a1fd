/**
 * A slapd serving LDAPS and StartTLS on loopback with a certificate made here (openssl), the way a
 * site's directory server would: the managed slapd bootstraps tree and accounts, then the same
 * configuration and data are served with TLS.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LdapConnection } from '../../core/ldap/connection.js';
import { freeLoopbackPort, SLAPD_BIN, startManagedSlapd, type ManagedSlapd } from '../../core/ldap/managed-slapd.js';

export interface TestTls {
  /** the CA that issued the server certificate, and one that did not */
  ca: string;
  otherCa: string;
  cert: string;
  key: string;
}

/** A CA (and an unrelated one) and a server certificate for IP 127.0.0.1 only, made with openssl. */
export function makeTestTls(dir: string): TestTls {
  const p = (f: string) => join(dir, f);
  const ossl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  for (const name of ['ca', 'other-ca']) {
    ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p(`${name}.key`), '-out', p(`${name}.pem`), '-days', '2', '-subj', `/CN=campaign-guard test ${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  }
  ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  ossl('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.pem'), '-days', '2', '-extfile', p('server.ext'));
  return { ca: p('ca.pem'), otherCa: p('other-ca.pem'), cert: p('server.pem'), key: p('server.key') };
}

export interface TlsSlapd {
  tls: TestTls;
  ldapUrl: string;
  ldapsUrl: string;
  baseDn: string;
  accounts: Pick<ManagedSlapd, 'admin' | 'portal' | 'agent' | 'nss' | 'replicator'>;
  /** stops slapd and removes its directory (data, certificates) */
  stop(): Promise<void>;
}

export async function startTlsSlapd(): Promise<TlsSlapd> {
  const tmp = mkdtempSync(join(tmpdir(), 'cg-tls-slapd-'));
  const tls = makeTestTls(tmp);
  const data = join(tmp, 'slapd');
  const managed = await startManagedSlapd({ dir: data });
  const accounts = { admin: managed.admin, portal: managed.portal, agent: managed.agent, nss: managed.nss, replicator: managed.replicator };
  await managed.stop();
  const conf = readFileSync(join(data, 'slapd.conf'), 'utf8');
  writeFileSync(join(data, 'slapd-tls.conf'), `TLSCACertificateFile ${tls.ca}\nTLSCertificateFile ${tls.cert}\nTLSCertificateKeyFile ${tls.key}\n${conf}`, { mode: 0o600 });
  const ports = { ldap: await freeLoopbackPort(), ldaps: await freeLoopbackPort() };
  const served = await serveSlapdConf(join(data, 'slapd-tls.conf'), [`ldap://127.0.0.1:${ports.ldap}`, `ldaps://127.0.0.1:${ports.ldaps}`], { ...accounts.portal, baseDn: managed.baseDn });
  const stop = async (): Promise<void> => {
    await served.stop();
    rmSync(tmp, { recursive: true, force: true });
  };
  return { tls, ldapUrl: `ldap://127.0.0.1:${ports.ldap}`, ldapsUrl: `ldaps://127.0.0.1:${ports.ldaps}`, baseDn: managed.baseDn, accounts, stop };
}

/**
 * slapd serving the configuration file `confPath` (and the data it names) on `urls`, returned once
 * it answers `probe`'s bind and search on the first URL; stop() ends it (SIGTERM) and waits.
 */
export async function serveSlapdConf(confPath: string, urls: string[], probe: { dn: string; password: string; baseDn: string }): Promise<{ stop(): Promise<void> }> {
  const slapd: ChildProcess = spawn(SLAPD_BIN, ['-d', 'none', '-h', urls.map((u) => `${u}/`).join(' '), '-f', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  slapd.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const stop = async (): Promise<void> => {
    if (slapd.exitCode !== null || slapd.signalCode !== null) return;
    const exited = new Promise((r) => slapd.once('exit', r));
    slapd.kill('SIGTERM');
    await exited;
  };
  const conn = new LdapConnection({ url: urls[0]!, bindDn: probe.dn, password: probe.password, connectTimeoutMs: 2000 });
  try {
    for (let i = 0; ; i++) {
      try {
        await conn.ping(probe.baseDn);
        return { stop };
      } catch (e) {
        if (i > 100 || slapd.exitCode !== null) {
          await stop();
          throw new Error(`slapd with ${confPath} did not start: ${(e as Error).message}\n${err}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await conn.close();
  }
}
