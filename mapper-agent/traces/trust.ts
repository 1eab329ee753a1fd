/**
 * Is a trace signer's certificate one to believe? Its path to a trust anchor of the trust
 * directory (the IGTF directory the portal and dCache read: HASH.N CAs, HASH.rN CRLs, or PEM files,
 * loaded by the portal's loadTrust), every certificate on it valid at the time asked, and none
 * revoked by its issuer's CRL. With crlMode `require` (dCache's crl-mode=REQUIRE) every issuer on
 * the path must have a CRL with a good signature that is not past its nextUpdate.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { loadTrust, type TrustSnapshot } from '../../core/pki/trust-directory.js';

export type CrlMode = 'require' | 'if-present';

export interface Trust {
  snapshot: TrustSnapshot;
  crlMode: CrlMode;
}

export function loadTraceTrust(caPaths: string[], crlPaths: string[], crlMode: CrlMode): Trust {
  return { snapshot: loadTrust(caPaths, crlPaths.length ? crlPaths : caPaths), crlMode };
}

const MAX_PATH = 10;
const sameName = (a: x509.Name, b: x509.Name) => Buffer.from(a.toArrayBuffer()).equals(Buffer.from(b.toArrayBuffer()));
const isCa = (c: x509.X509Certificate) => c.getExtension(x509.BasicConstraintsExtension)?.ca === true;

async function signedBy(item: x509.X509Certificate | x509.X509Crl, issuer: x509.X509Certificate): Promise<boolean> {
  try {
    return await item.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

function validAt(c: x509.X509Certificate, at: Date, what: string): string | undefined {
  if (at < c.notBefore) return `${what} ${c.subject} is not valid before ${c.notBefore.toISOString()}`;
  if (at > c.notAfter) return `${what} ${c.subject} expired on ${c.notAfter.toISOString()}`;
  return undefined;
}

export interface SignerCheck {
  ok: boolean;
  problems: string[];
  subject?: string;
}

/**
 * Check the signer's certificate (DER) with possible intermediates against the trust: every
 * certificate on the path valid at `validAt` (the signing time), CRLs as they are `now` (a revoked
 * certificate fails whatever the signing time claims). Never throws.
 */
export async function checkSigner(signerDer: Uint8Array, intermediates: Uint8Array[], trust: Trust, times: { validAt?: Date; now?: Date } = {}): Promise<SignerCheck> {
  try {
    return await check(signerDer, intermediates, trust, times);
  } catch (err) {
    // a certificate whose parts cannot be parsed (an extension, a name) is not one to believe
    return { ok: false, problems: [`the signing certificate or its path cannot be read: ${(err as Error).message}`] };
  }
}

async function check(signerDer: Uint8Array, intermediates: Uint8Array[], trust: Trust, times: { validAt?: Date; now?: Date }): Promise<SignerCheck> {
  const now = times.now ?? new Date();
  const at = times.validAt ?? now;
  const problems: string[] = [];
  let leaf: x509.X509Certificate;
  try {
    leaf = new x509.X509Certificate(new Uint8Array(signerDer));
  } catch (err) {
    return { ok: false, problems: [`the signing certificate is malformed: ${(err as Error).message}`] };
  }
  const anchors = trust.snapshot.cas.map((c) => c.cert);
  const pool: x509.X509Certificate[] = [];
  for (const d of intermediates) {
    try {
      pool.push(new x509.X509Certificate(new Uint8Array(d)));
    } catch {
      /* an unreadable extra certificate is simply not used */
    }
  }
  const fail = (p: string): SignerCheck => ({ ok: false, problems: [...problems, p], subject: leaf.subject });
  if (isCa(leaf)) return fail(`the signing certificate ${leaf.subject} is a CA certificate`);
  const v = validAt(leaf, at, 'the signing certificate');
  if (v) problems.push(v);

  const path: x509.X509Certificate[] = [leaf];
  for (let current = leaf; ; ) {
    const anchor = anchors.find((a) => sameName(a.subjectName, current.issuerName));
    if (anchor && (await signedBy(current, anchor))) {
      const va = validAt(anchor, at, 'the trust anchor');
      if (va) problems.push(va);
      path.push(anchor);
      break;
    }
    const next = pool.find((c) => c !== current && sameName(c.subjectName, current.issuerName));
    if (!next || path.length > MAX_PATH) return fail(`the signing certificate ${leaf.subject} was not issued by a trusted CA (issuer ${current.issuer})`);
    if (!(await signedBy(current, next))) return fail(`the signature on ${current.subject} does not verify with ${next.subject}`);
    if (!isCa(next)) return fail(`${next.subject} is not a CA but issued ${current.subject}`);
    const vi = validAt(next, at, 'the intermediate CA');
    if (vi) problems.push(vi);
    path.push(next);
    current = next;
  }

  for (let i = 0; i < path.length - 1; i++) {
    const cert = path[i]!;
    const issuer = path[i + 1]!;
    const crls = trust.snapshot.crls.map((c) => c.crl).filter((crl) => sameName(crl.issuerName, issuer.subjectName));
    let usable = 0;
    for (const crl of crls) {
      if (!(await signedBy(crl, issuer))) {
        problems.push(`a CRL of ${issuer.subject} has a bad signature`);
        continue;
      }
      if (crl.nextUpdate && crl.nextUpdate < now) {
        problems.push(`the CRL of ${issuer.subject} is out of date (next update was due ${crl.nextUpdate.toISOString()})`);
        continue;
      }
      usable++;
      const entry = crl.findRevoked(cert);
      if (entry) problems.push(`the certificate ${cert.subject} (serial ${cert.serialNumber}) was revoked by ${issuer.subject} on ${entry.revocationDate.toISOString()}`);
    }
    if (!usable && trust.crlMode === 'require') problems.push(`no valid CRL of ${issuer.subject} in the trust directory (crlMode require)`);
  }
  return { ok: problems.length === 0, problems, subject: leaf.subject };
}
