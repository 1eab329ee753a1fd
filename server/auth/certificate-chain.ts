/**
 * Verifies a client certificate chain in code, because Node's TLS cannot verify RFC 3820 proxy
 * chains: the end-entity certificate (EEC) must chain to a configured trust anchor (signatures,
 * validity, CA constraints, CRLs of every CA on the path, fresh unless configured otherwise);
 * proxies in front of it must each be signed by the certificate after them, carry the critical
 * ProxyCertInfo extension, extend their issuer's subject by exactly one CN, respect path length
 * limits and be valid now. A revoked or expired EEC therefore revokes its proxies too. The
 * identity that counts is the EEC's subject.
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Name as AsnName } from '@peculiar/asn1-x509';
import { ValidationError, ForbiddenError } from '../../core/errors.js';
import { gridDn, parseName, rfc4514Dn } from '../../core/identity/x509-name.js';
import { PROXY_CERT_INFO_OID } from './oids.js';

export const MAX_CHAIN = 10;
export const MAX_CERT_BYTES = 16 * 1024;

export interface VerifiedCertificate {
  subjectGrid: string;
  subjectRfc4514: string;
  issuerGrid: string;
  notAfter: Date;
  serial: string;
  /** sha256 of the EEC's DER, hex */
  fingerprint: string;
  isProxy: boolean;
}

/** Why a certificate was refused, in words a person can act on. */
export class CertificateRefused extends ForbiddenError {}

export interface TrustStore {
  anchors: x509.X509Certificate[];
  crls: x509.X509Crl[];
  requireFreshCrl: boolean;
}

/** Load CA certificates and CRLs from files or directories (PEM or DER; grid-security style *.0 / *.r0 too). */
export function loadTrustStore(caPaths: string[], crlPaths: string[], requireFreshCrl = true): TrustStore {
  const anchors = expand(caPaths).flatMap((f) => readCerts(readFileSync(f), f));
  const crls = expand(crlPaths).flatMap((f) => readCrls(readFileSync(f), f));
  return { anchors, crls, requireFreshCrl };
}

function expand(paths: string[]): string[] {
  return paths.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((n) => /\.(pem|crt|cer|der|crl|\d+|r\d+)$/.test(n)).map((n) => join(p, n)) : [p]));
}

function readCerts(data: Buffer, where: string): x509.X509Certificate[] {
  return readPemOrDer(data, where, 'certificate', (der) => new x509.X509Certificate(der));
}

function readCrls(data: Buffer, where: string): x509.X509Crl[] {
  return readPemOrDer(data, where, 'CRL', (der) => new x509.X509Crl(der));
}

/** One DER object, or every PEM block, of a file; a ValidationError naming the file when it is neither. */
function readPemOrDer<T>(data: Buffer, where: string, what: string, make: (der: ArrayBuffer) => T): T[] {
  try {
    const text = data.toString('latin1');
    return text.includes('-----BEGIN') ? x509.PemConverter.decode(text).map(make) : [make(bytes(data))];
  } catch (err) {
    throw new ValidationError(`${where}: not a ${what}: ${(err as Error).message}`);
  }
}

/** Parse a presented chain (DER, leaf first); malformed or oversized input is refused. */
export function parseChain(ders: Uint8Array[]): x509.X509Certificate[] {
  if (ders.length === 0) throw new CertificateRefused('no client certificate was presented');
  if (ders.length > MAX_CHAIN) throw new CertificateRefused(`the presented chain has ${ders.length} certificates; at most ${MAX_CHAIN} are accepted`);
  return ders.map((der, i) => {
    if (der.length > MAX_CERT_BYTES) throw new CertificateRefused(`certificate ${i + 1} of the chain is ${der.length} bytes; at most ${MAX_CERT_BYTES} are accepted`);
    try {
      return new x509.X509Certificate(bytes(der));
    } catch (err) {
      throw new CertificateRefused(`certificate ${i + 1} of the chain is malformed: ${(err as Error).message}`);
    }
  });
}

const isProxy = (c: x509.X509Certificate) => c.extensions.some((e) => e.type === PROXY_CERT_INFO_OID);
const isCa = (c: x509.X509Certificate) => c.getExtension(x509.BasicConstraintsExtension)?.ca === true;
const sameName = (a: x509.Name, b: x509.Name) => Buffer.from(a.toArrayBuffer()).equals(Buffer.from(b.toArrayBuffer()));

async function signedBy(cert: x509.X509Certificate | x509.X509Crl, issuer: x509.X509Certificate): Promise<boolean> {
  try {
    return await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

function checkValid(c: x509.X509Certificate, now: Date, what: string): void {
  if (now < c.notBefore) throw new CertificateRefused(`the ${what} is not valid before ${c.notBefore.toISOString()}`);
  if (now > c.notAfter) throw new CertificateRefused(`the ${what} expired on ${c.notAfter.toISOString()}`);
}

/** pCPathLenConstraint of a proxy, undefined when unlimited. */
function proxyPathLen(c: x509.X509Certificate): number | undefined {
  const ext = c.extensions.find((e) => e.type === PROXY_CERT_INFO_OID)!;
  const der = new Uint8Array(ext.value);
  // ProxyCertInfo ::= SEQUENCE { pCPathLenConstraint INTEGER OPTIONAL, proxyPolicy SEQUENCE }
  if (der[0] !== 0x30) throw new CertificateRefused('malformed ProxyCertInfo extension');
  const off = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
  return der[off] === 0x02 ? der[off + 2] : undefined;
}

export async function verifyChain(ders: Uint8Array[], store: TrustStore, now = new Date()): Promise<VerifiedCertificate> {
  const chain = parseChain(ders);
  let eecIndex = 0;
  while (eecIndex < chain.length && isProxy(chain[eecIndex]!)) eecIndex++;
  if (eecIndex === chain.length) throw new CertificateRefused('the chain holds only proxy certificates: the end-entity certificate must be presented too');
  const eec = chain[eecIndex]!;
  const proxies = chain.slice(0, eecIndex);

  // Legacy Globus (pre-RFC 3820) proxies have no ProxyCertInfo: refuse them with advice.
  if (eecIndex === 0 && chain.length > 1 && /\/CN=(limited )?proxy$/.test(grid(eec.subjectName)) && sameName(chain[1]!.subjectName, eec.issuerName)) {
    throw new CertificateRefused('legacy Globus proxy certificates are not accepted: create an RFC 3820 proxy (e.g. voms-proxy-init -rfc)');
  }
  if (isCa(eec)) throw new CertificateRefused('the end-entity certificate is a CA certificate');
  checkValid(eec, now, 'certificate');

  // The EEC's path to an anchor: intermediates from the presented chain or the trust store.
  const pool = [...chain.slice(eecIndex + 1), ...store.anchors];
  const path: x509.X509Certificate[] = [eec];
  for (let current = eec; ; ) {
    const anchor = store.anchors.find((a) => sameName(a.subjectName, current.issuerName));
    if (anchor && (await signedBy(current, anchor))) {
      path.push(anchor);
      break;
    }
    const next = pool.find((c) => c !== current && sameName(c.subjectName, current.issuerName));
    if (!next || path.length > MAX_CHAIN) throw new CertificateRefused(`the certificate was not issued by a CA this portal trusts (issuer ${grid(current.issuerName)})`);
    if (!(await signedBy(current, next))) throw new CertificateRefused(`the signature of ${grid(current.subjectName)} does not verify`);
    if (!isCa(next)) throw new CertificateRefused(`${grid(next.subjectName)} is not a CA certificate but issued ${grid(current.subjectName)}`);
    checkValid(next, now, `intermediate CA ${grid(next.subjectName)}`);
    path.push(next);
    current = next;
  }

  // CRLs of every issuer on the path (the anchor itself is trusted as configured).
  for (let i = 0; i < path.length - 1; i++) {
    const cert = path[i]!;
    const issuer = path[i + 1]!;
    const crls = store.crls.filter((crl) => sameName(crl.issuerName, issuer.subjectName));
    for (const crl of crls) {
      if (!(await signedBy(crl, issuer))) throw new CertificateRefused(`the CRL of ${grid(issuer.subjectName)} has a bad signature; ask the portal operators to update it`);
      if (store.requireFreshCrl && crl.nextUpdate && crl.nextUpdate < now) {
        throw new CertificateRefused(`the CRL of ${grid(issuer.subjectName)} is out of date (next update was due ${crl.nextUpdate.toISOString()}); try again later`);
      }
      if (crl.findRevoked(cert)) throw new CertificateRefused(`the certificate ${grid(cert.subjectName)} has been revoked by its CA`);
    }
  }

  // Proxies, from the one the EEC issued outwards to the presented leaf.
  let issuer = eec;
  for (let i = proxies.length - 1; i >= 0; i--) {
    const proxy = proxies[i]!;
    if (!sameName(proxy.issuerName, issuer.subjectName)) throw new CertificateRefused('the proxy chain is broken: a proxy was not issued by the certificate after it');
    if (!(await signedBy(proxy, issuer))) throw new CertificateRefused('a proxy certificate signature does not verify');
    if (!proxy.extensions.find((e) => e.type === PROXY_CERT_INFO_OID)!.critical) throw new CertificateRefused('the ProxyCertInfo extension of a proxy is not critical');
    if (isCa(proxy)) throw new CertificateRefused('a proxy certificate claims to be a CA');
    const issuerRdns = parseName(issuer.subjectName.toArrayBuffer());
    const rdns = parseName(proxy.subjectName.toArrayBuffer());
    const proxyRdns = nameRdns(proxy.subjectName);
    const extendsByOneCn = rdns.length === issuerRdns.length + 1 && Buffer.from(AsnConvert.serialize(new AsnName(proxyRdns.slice(0, -1)))).equals(Buffer.from(AsnConvert.serialize(nameRdns(issuer.subjectName))))
      && rdns[rdns.length - 1]!.length === 1 && rdns[rdns.length - 1]![0]!.oid === '2.5.4.3';
    if (!extendsByOneCn) throw new CertificateRefused("a proxy's subject must be its issuer's subject plus one CN (RFC 3820)");
    checkValid(proxy, now, 'proxy certificate');
    issuer = proxy;
  }
  // Path length: a proxy with pCPathLenConstraint n may have at most n proxies below it.
  for (let i = 0; i < proxies.length; i++) {
    const limit = proxyPathLen(proxies[i]!);
    if (limit !== undefined && i > limit) throw new CertificateRefused('the proxy chain is longer than its path length constraint allows');
  }

  return {
    subjectGrid: grid(eec.subjectName),
    subjectRfc4514: rfc4514Dn(parseName(eec.subjectName.toArrayBuffer())),
    issuerGrid: grid(eec.issuerName),
    notAfter: eec.notAfter,
    serial: eec.serialNumber,
    fingerprint: createHash('sha256').update(new Uint8Array(eec.rawData)).digest('hex'),
    isProxy: proxies.length > 0,
  };
}

function grid(name: x509.Name | string): string {
  return gridDn(parseName((typeof name === 'string' ? new x509.Name(name) : name).toArrayBuffer()));
}

function nameRdns(name: x509.Name): AsnName {
  return AsnConvert.parse(name.toArrayBuffer(), AsnName);
}

/** A copy backed by a plain ArrayBuffer (what the ASN.1 and WebCrypto APIs take). */
function bytes(data: Uint8Array): ArrayBuffer {
  return new Uint8Array(data).buffer;
}
