/**
 * The portal's trust: the same IGTF trust directory dCache reads (`/etc/grid-security/certificates`,
 * kept current by fetch-crl), read as such:
 *   HASH.N             a CA certificate (trust anchor)      HASH.rN   a CRL of that CA
 *   HASH.namespaces    its EUGridPMA namespace policy       HASH.signing_policy   its Globus EACL
 * where HASH is OpenSSL's subject hash of the CA (the file names link a CA to its policies; the
 * IGTF distribution's NAME.pem/.info/.crl_url companions are not read). Plain files may be given too
 * (a PEM bundle of CAs or of CRLs). A file that cannot be read as what its name says is reported,
 * never silently skipped; the rest is still used.
 *
 * The directory is re-read when it changes: at most every `refreshSeconds`, a use compares the
 * names, sizes and times of the files with the last read (CANL reloads on a timer likewise), so a
 * CRL that fetch-crl replaced takes effect without a restart.
 */
import 'reflect-metadata';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { parseEuGridPmaNamespaces, parseGlobusSigningPolicy, type NamespacePolicy } from './namespaces.js';

export interface TrustedCa {
  cert: x509.X509Certificate;
  file: string;
  /** the 8-hex-digit hash of its file name in a trust directory (undefined for a bundle) */
  hash?: string;
}

export interface TrustSnapshot {
  cas: TrustedCa[];
  crls: { crl: x509.X509Crl; file: string }[];
  euGridPma: NamespacePolicy[];
  globus: NamespacePolicy[];
  /** files that could not be read as what their names say */
  problems: string[];
  loadedAt: Date;
}

const CA_FILE = /^([0-9a-f]{8})\.\d+$/;
const CRL_FILE = /^([0-9a-f]{8})\.r\d+$/;
const NAMESPACES_FILE = /^([0-9a-f]{8})\.namespaces$/;
const SIGNING_POLICY_FILE = /^([0-9a-f]{8})\.signing_policy$/;

/** One DER object, or every PEM block, of a file. */
export function readPemOrDer<T>(data: Buffer, make: (der: ArrayBuffer) => T): T[] {
  const text = data.toString('latin1');
  return text.includes('-----BEGIN') ? x509.PemConverter.decode(text).map(make) : [make(new Uint8Array(data).buffer)];
}

/** Read CA and CRL paths (trust directories or files) once. */
export function loadTrust(caPaths: string[], crlPaths: string[], now = new Date()): TrustSnapshot {
  const snap: TrustSnapshot = { cas: [], crls: [], euGridPma: [], globus: [], problems: [], loadedAt: now };
  const dirs = new Set<string>();
  const attempt = (file: string, what: string, read: () => void) => {
    try {
      read();
    } catch (err) {
      snap.problems.push(`${file}: not a ${what}: ${(err as Error).message}`);
    }
  };
  const readDirectory = (dir: string) => {
    if (dirs.has(dir)) return;
    dirs.add(dir);
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name);
      let m: RegExpExecArray | null;
      if ((m = CA_FILE.exec(name))) {
        const hash = m[1]!;
        attempt(file, 'CA certificate', () => snap.cas.push(...readPemOrDer(readFileSync(file), (d) => ({ cert: new x509.X509Certificate(d), file, hash }))));
      } else if (CRL_FILE.test(name)) {
        attempt(file, 'CRL', () => snap.crls.push(...readPemOrDer(readFileSync(file), (d) => ({ crl: new x509.X509Crl(d), file }))));
      } else if ((m = NAMESPACES_FILE.exec(name))) {
        const hash = m[1]!;
        attempt(file, 'EUGridPMA namespaces file', () => snap.euGridPma.push(...parseEuGridPmaNamespaces(readFileSync(file, 'utf8'), hash, file)));
      } else if ((m = SIGNING_POLICY_FILE.exec(name))) {
        const hash = m[1]!;
        attempt(file, 'Globus signing policy', () => snap.globus.push(...parseGlobusSigningPolicy(readFileSync(file, 'utf8'), hash, file)));
      }
    }
  };
  for (const p of caPaths) {
    if (statSync(p).isDirectory()) readDirectory(p);
    else attempt(p, 'CA certificate', () => snap.cas.push(...readPemOrDer(readFileSync(p), (d) => ({ cert: new x509.X509Certificate(d), file: p }))));
  }
  for (const p of crlPaths) {
    if (statSync(p).isDirectory()) readDirectory(p);
    else attempt(p, 'CRL', () => snap.crls.push(...readPemOrDer(readFileSync(p), (d) => ({ crl: new x509.X509Crl(d), file: p }))));
  }
  return snap;
}

/** What changes when a trust file is added, removed or rewritten (fetch-crl renames a new file in). */
function signature(paths: string[]): string {
  const parts: string[] = [];
  for (const p of paths) {
    try {
      const st = statSync(p);
      if (!st.isDirectory()) {
        parts.push(`${p}:${st.size}:${st.mtimeMs}:${st.ino}`);
        continue;
      }
      for (const name of readdirSync(p).sort()) {
        if (!(CA_FILE.test(name) || CRL_FILE.test(name) || NAMESPACES_FILE.test(name) || SIGNING_POLICY_FILE.test(name))) continue;
        const f = statSync(join(p, name));
        parts.push(`${name}:${f.size}:${f.mtimeMs}:${f.ino}`);
      }
    } catch (err) {
      parts.push(`${p}:${(err as NodeJS.ErrnoException).code}`);
    }
  }
  return parts.join('\n');
}

export class TrustDirectory {
  private snap: TrustSnapshot;
  private sig: string;
  private checkedAt: number;

  constructor(private readonly caPaths: string[], private readonly crlPaths: string[], private readonly refreshSeconds = 60, private readonly onReload?: (s: TrustSnapshot) => void) {
    this.sig = signature([...caPaths, ...crlPaths]);
    this.snap = loadTrust(caPaths, crlPaths);
    this.checkedAt = Date.now();
  }

  /** The current trust, re-read first when the files changed since the last read (checked at most every refreshSeconds). */
  current(): TrustSnapshot {
    if (Date.now() - this.checkedAt >= this.refreshSeconds * 1000) {
      this.checkedAt = Date.now();
      const sig = signature([...this.caPaths, ...this.crlPaths]);
      if (sig !== this.sig) {
        this.snap = loadTrust(this.caPaths, this.crlPaths);
        this.sig = sig;
        this.onReload?.(this.snap);
      }
    }
    return this.snap;
  }
}

/** A fixed trust (tests, tools): the given CAs and CRLs, no policy files, no problems. */
export function trustOf(parts: { cas: x509.X509Certificate[]; crls?: x509.X509Crl[]; euGridPma?: NamespacePolicy[]; globus?: NamespacePolicy[] }): TrustSnapshot {
  return {
    cas: parts.cas.map((cert) => ({ cert, file: '(given)' })), crls: (parts.crls ?? []).map((crl) => ({ crl, file: '(given)' })),
    euGridPma: parts.euGridPma ?? [], globus: parts.globus ?? [], problems: [], loadedAt: new Date(),
  };
}
