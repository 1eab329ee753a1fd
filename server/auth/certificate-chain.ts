/**
 * Verifies a client certificate chain in code, because Node's TLS cannot verify RFC 3820 proxy
 * chains: the end-entity certificate (EEC) must chain to a configured trust anchor (signatures,
 * validity, CA constraints, CRLs of every CA on the path, fresh unless configured otherwise);
 * proxies in front of it must each be signed by the certificate after them, carry the critical
 * ProxyCertInfo extension, extend their issuer's subject by exactly one CN, respect path length
 * limits and be valid now. A revoked or expired EEC therefore revokes its proxies too. The
 * identity that counts is the EEC's subject.
 *
 * Proxies are recognised as dCache recognises them (CANL 2.8.3 ProxyHelper.getProxyType, used by
 * ProxyUtils.getEndUserCertificate in gPlazma's X509Plugin): RFC 3820 (ProxyCertInfo
 * 1.3.6.1.5.5.7.1.14), draft-RFC / GT3 (1.3.6.1.4.1.3536.1.222, accepted like RFC 3820), and
 * legacy Globus proxies (no extension, last RDN a single CN "proxy" or "limited proxy", any case:
 * refused with advice). A CA-issued certificate whose subject ends in such a CN is a "legacy proxy"
 * to dCache too, so dCache finds no end-entity certificate: refused. Subjects dCache cannot turn
 * into a DN (non-string values), or whose DN another subject could produce as well, are refused.
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Name as AsnName } from '@peculiar/asn1-x509';
import { ForbiddenError } from '../../core/errors.js';
import { ambiguityInGridDn, gridDnForDisplay, gridDnForms, legacyOpensslDn, parseName, rfc4514Dn, UnusableByDcacheError } from '../../core/identity/x509-name.js';
import { checkNamespaces, type NamespaceMode, type PathCertificate } from '../../core/pki/namespace-check.js';
import { TrustDirectory, type TrustSnapshot } from '../../core/pki/trust-directory.js';
import { PROXY_CERT_INFO_OID } from './oids.js';

export const MAX_CHAIN = 10;
export const MAX_CERT_BYTES = 16 * 1024;

export interface VerifiedCertificate {
  /** the grid DN dCache computes on JDK 21 (the primary form; the identity key) */
  subjectGrid: string;
  /** every grid DN dCache could compute for the subject (subjectGrid first; a second one on JDK 17 for BMP/T61/IA5 high bytes) */
  subjectGridForms: string[];
  /** the EEC's subject as DER, base64 */
  subjectDer: string;
  subjectRfc4514: string;
  issuerGrid: string;
  notAfter: Date;
  serial: string;
  /** sha256 of the EEC's DER, hex */
  fingerprint: string;
  isProxy: boolean;
}

/** Why a certificate was refused, in words a person can act on. */
export class CertificateRefused extends ForbiddenError {
  static override code = 'ERR_CERTIFICATE_REFUSED';
  override readonly code: string = 'ERR_CERTIFICATE_REFUSED';
  override readonly name: string = 'CertificateRefused';
}

/** CANL's CrlCheckingMode, with dCache's names (`dcache.authn.crl-mode`, default REQUIRE). */
export const CRL_MODES = ['REQUIRE', 'IF_VALID', 'IGNORE'] as const;
export type CrlMode = (typeof CRL_MODES)[number];

/** What the portal trusts, as dCache does: the trust directory's current content and the two modes. */
export interface TrustStore {
  /** the trust as it is now (a TrustDirectory re-reads it when the files change) */
  current(): TrustSnapshot;
  namespaceMode: NamespaceMode;
  crlMode: CrlMode;
}

/** The portal's trust store over CA and CRL paths (IGTF trust directories or PEM files), re-read when they change. */
export function loadTrustStore(caPaths: string[], crlPaths: string[], options: { namespaceMode?: NamespaceMode; crlMode?: CrlMode; refreshSeconds?: number; onLoad?: (t: TrustSnapshot) => void } = {}): TrustStore {
  const dir = new TrustDirectory(caPaths, crlPaths, options.refreshSeconds ?? 60, options.onLoad);
  options.onLoad?.(dir.current());
  return { current: () => dir.current(), namespaceMode: options.namespaceMode ?? 'EUGRIDPMA_AND_GLOBUS_REQUIRE', crlMode: options.crlMode ?? 'REQUIRE' };
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

/** CANL ProxyCertInfoExtension OIDs: RFC 3820 and the GT3 draft. */
export const RFC_PROXY_OID = PROXY_CERT_INFO_OID;
export const DRAFT_PROXY_OID = '1.3.6.1.4.1.3536.1.222';

type ProxyType = 'rfc3820' | 'draft' | 'legacy' | undefined;

/** CANL ProxyHelper.getProxyType: the extension decides; without one, the last CN (ProxyHelper.getLastCN). */
export function proxyType(c: x509.X509Certificate): ProxyType {
  const ext = (oid: string) => c.extensions.some((e) => e.type === oid && e.value.byteLength > 0);
  if (ext(RFC_PROXY_OID)) return 'rfc3820';
  if (ext(DRAFT_PROXY_OID)) return 'draft';
  const last = lastCn(c.subjectName);
  return last !== undefined && ['proxy', 'limited proxy'].includes(last.toLowerCase()) ? 'legacy' : undefined;
}

/**
 * ProxyHelper.getLastCN -> IETFUtils.valueToString of the last RDN's value, when it is a single CN.
 * valueToString escapes leading/trailing spaces and a leading '#', prints non-strings and
 * UniversalStrings as #hex: none of those can read "proxy", so only the plain decoded text matters.
 */
function lastCn(name: x509.Name): string | undefined {
  let rdns;
  try {
    rdns = parseName(name.toArrayBuffer());
  } catch {
    return undefined;
  }
  const last = rdns[rdns.length - 1];
  if (!last || last.length !== 1 || last[0]!.oid !== '2.5.4.3') return undefined;
  const v = last[0]!;
  // BC getString(): PrintableString/T61/IA5/... byte by byte, UTF8String (strict), BMPString
  const text = v.tag === 0x0c ? strictUtf8(v.content) : v.tag === 0x1e ? v.text : [0x12, 0x13, 0x14, 0x15, 0x16, 0x19, 0x1a, 0x1b].includes(v.tag) ? Buffer.from(v.content).toString('latin1') : undefined;
  if (text === undefined || /^[ #]| $/.test(text)) return undefined;
  return text;
}

function strictUtf8(b: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return undefined;
  }
}

const isProxy = (c: x509.X509Certificate) => proxyType(c) === 'rfc3820' || proxyType(c) === 'draft';
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

/**
 * pCPathLenConstraint of a proxy, undefined when unlimited.
 * RFC 3820: ProxyCertInfo ::= SEQUENCE { pCPathLenConstraint INTEGER OPTIONAL, proxyPolicy SEQUENCE };
 * draft (CANL DraftRFCProxyCertInfoExtension): SEQUENCE { proxyPolicy SEQUENCE, [1] EXPLICIT INTEGER OPTIONAL }.
 */
function proxyPathLen(c: x509.X509Certificate): number | undefined {
  const type = proxyType(c);
  const ext = c.extensions.find((e) => e.type === (type === 'draft' ? DRAFT_PROXY_OID : RFC_PROXY_OID))!;
  const der = new Uint8Array(ext.value);
  if (der[0] !== 0x30) throw new CertificateRefused('malformed ProxyCertInfo extension');
  const off = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
  if (type === 'rfc3820') return der[off] === 0x02 ? der[off + 2] : undefined;
  // draft: skip the policy SEQUENCE, then an optional [1] { INTEGER }
  if (der[off] !== 0x30) throw new CertificateRefused('malformed draft ProxyCertInfo extension');
  const policyLen = der[off + 1]!;
  if (policyLen & 0x80) throw new CertificateRefused('malformed draft ProxyCertInfo extension');
  const next = off + 2 + policyLen;
  if (next >= der.length) return undefined;
  if (der[next] !== 0xa1 || der[next + 2] !== 0x02) throw new CertificateRefused('malformed draft ProxyCertInfo extension');
  return der[next + 4];
}

/** The grid DN forms of the EEC's subject, or a refusal saying why dCache cannot use it (or cannot tell it from another). */
function subjectForms(eec: x509.X509Certificate): string[] {
  let name;
  try {
    name = parseName(eec.subjectName.toArrayBuffer());
  } catch (err) {
    throw new CertificateRefused(`the certificate's subject is not a valid name: ${(err as Error).message}`);
  }
  let forms: string[];
  try {
    forms = gridDnForms(name).forms;
  } catch (err) {
    if (err instanceof UnusableByDcacheError) throw new CertificateRefused(err.message);
    throw err;
  }
  if (name.length === 0) throw new CertificateRefused('the certificate has an empty subject, which dCache cannot map');
  const why = ambiguityInGridDn(name);
  if (why) {
    throw new CertificateRefused(`this certificate cannot be used here: in the DN dCache computes (${forms[0]}) ${why}, so another certificate's subject could give the same DN and share its account. Ask your certificate authority for a certificate with a plain subject`);
  }
  return forms;
}

export async function verifyChain(ders: Uint8Array[], store: TrustStore, now = new Date()): Promise<VerifiedCertificate> {
  const trust = store.current();
  const anchors = trust.cas.map((c) => c.cert);
  const chain = parseChain(ders);
  let eecIndex = 0;
  while (eecIndex < chain.length && isProxy(chain[eecIndex]!)) eecIndex++;
  if (eecIndex === chain.length) {
    // Node links the presented chain with OpenSSL's X509_check_issued, which lets only RFC 3820
    // proxies be issued by a non-CA certificate: a draft (GT3) proxy arrives without its EEC.
    if (chain.some((c) => proxyType(c) === 'draft')) {
      throw new CertificateRefused('a draft (GT3) proxy reaches the portal without your certificate over a direct connection: log in with your certificate itself, or with an RFC 3820 proxy (e.g. voms-proxy-init -rfc)');
    }
    throw new CertificateRefused('the chain holds only proxy certificates: the end-entity certificate must be presented too');
  }
  const eec = chain[eecIndex]!;
  const proxies = chain.slice(0, eecIndex);

  // What dCache calls a legacy Globus proxy (last CN "proxy"/"limited proxy", no ProxyCertInfo).
  if (proxyType(eec) === 'legacy') {
    // Issued by a CA (in the chain or a trust anchor): dCache has no EEC at all. Issued by a user
    // certificate, or by one the TLS stack did not pass on: a legacy proxy.
    const issuer = chain.slice(eecIndex + 1).find((c) => sameName(c.subjectName, eec.issuerName));
    const caIssued = issuer ? isCa(issuer) : anchors.some((a) => sameName(a.subjectName, eec.issuerName));
    if (!caIssued) throw new CertificateRefused('legacy Globus proxy certificates are not accepted: create an RFC 3820 proxy (e.g. voms-proxy-init -rfc)');
    throw new CertificateRefused(`dCache treats a certificate whose subject ends in CN=proxy or CN=limited proxy as a (legacy) proxy and finds no end-entity certificate in it, so it cannot be used (subject ${grid(eec.subjectName)}). Ask your certificate authority for a certificate with another CN`);
  }
  // CANL checkPairWithProxy: every proxy after the first is of its issuer's type.
  if (new Set(proxies.map(proxyType)).size > 1) throw new CertificateRefused('the proxy chain mixes RFC 3820 and draft (GT3) proxies');
  if (isCa(eec)) throw new CertificateRefused('the end-entity certificate is a CA certificate');
  checkValid(eec, now, 'certificate');

  // The EEC's path to an anchor: intermediates from the presented chain or the trust store.
  const pool = [...chain.slice(eecIndex + 1), ...anchors];
  const path: x509.X509Certificate[] = [eec];
  for (let current = eec; ; ) {
    const anchor = anchors.find((a) => sameName(a.subjectName, current.issuerName));
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

  await checkRevocation(path, trust, store.crlMode, now);
  const violations = checkNamespaces(pathForNamespaces(path, trust), store.namespaceMode, trust.euGridPma, trust.globus);
  if (violations.length) {
    throw new CertificateRefused(`dCache would refuse this certificate (CA namespace policy, mode ${store.namespaceMode}): ${violations.join('; ')}`);
  }

  // Proxies, from the one the EEC issued outwards to the presented leaf.
  let issuer = eec;
  for (let i = proxies.length - 1; i >= 0; i--) {
    const proxy = proxies[i]!;
    if (!sameName(proxy.issuerName, issuer.subjectName)) throw new CertificateRefused('the proxy chain is broken: a proxy was not issued by the certificate after it');
    if (!(await signedBy(proxy, issuer))) throw new CertificateRefused('a proxy certificate signature does not verify');
    if (!proxy.extensions.find((e) => e.type === (proxyType(proxy) === 'draft' ? DRAFT_PROXY_OID : RFC_PROXY_OID))!.critical) throw new CertificateRefused('the ProxyCertInfo extension of a proxy is not critical');
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

  const forms = subjectForms(eec);
  return {
    subjectGrid: forms[0]!,
    subjectGridForms: forms,
    subjectDer: Buffer.from(eec.subjectName.toArrayBuffer()).toString('base64'),
    subjectRfc4514: rfc4514Dn(parseName(eec.subjectName.toArrayBuffer())),
    issuerGrid: grid(eec.issuerName),
    notAfter: eec.notAfter,
    serial: eec.serialNumber,
    fingerprint: createHash('sha256').update(new Uint8Array(eec.rawData)).digest('hex'),
    isProxy: proxies.length > 0,
  };
}

/** A grid DN for messages and the issuer label (never refuses: display only). */
/**
 * Revocation as CANL checks it in the three modes (CrlCheckingMode; RFC3280CertPathUtilitiesCanl
 * .checkCRLs2 / checkCRL, CRLRevocationChecker): for every certificate of the path but the anchor,
 * the CRLs of its issuer. REQUIRE: a valid one must be there. IF_VALID: none is fine, but one that is
 * there must be valid (an expired or badly signed CRL refuses, as CANL's crlVerifyFailed does).
 * IGNORE: not checked. One valid CRL is enough; a certificate on any valid CRL is refused.
 */
async function checkRevocation(path: x509.X509Certificate[], trust: TrustSnapshot, mode: CrlMode, now: Date): Promise<void> {
  if (mode === 'IGNORE') return;
  for (let i = 0; i < path.length - 1; i++) {
    const cert = path[i]!;
    const issuer = path[i + 1]!;
    const crls = trust.crls.map((c) => c.crl).filter((crl) => sameName(crl.issuerName, issuer.subjectName));
    const valid: x509.X509Crl[] = [];
    let problem: string | undefined;
    for (const crl of crls) {
      if (!(await signedBy(crl, issuer))) problem = `the CRL of ${grid(issuer.subjectName)} has a bad signature`;
      else if (crl.nextUpdate && crl.nextUpdate < now) problem = `the CRL of ${grid(issuer.subjectName)} is out of date (its next update was due ${crl.nextUpdate.toISOString()})`;
      else valid.push(crl);
    }
    if (!valid.length) {
      if (problem) throw new CertificateRefused(`${problem}; dCache refuses certificates of this CA until fetch-crl installs a current CRL. Try again later`);
      if (mode === 'REQUIRE') throw new CertificateRefused(`no CRL of ${grid(issuer.subjectName)} is installed, and dCache (crl-mode REQUIRE) refuses certificates whose revocation it cannot check; the portal operators must install it (fetch-crl)`);
      continue;
    }
    if (valid.some((crl) => crl.findRevoked(cert))) throw new CertificateRefused(`the certificate ${grid(cert.subjectName)} has been revoked by its CA`);
  }
}

/** The validated path (EEC to anchor) as the namespace checker sees it; issuers found in the trust directory carry its hash. */
function pathForNamespaces(path: x509.X509Certificate[], trust: TrustSnapshot): PathCertificate[] {
  const legacy = (name: x509.Name) => {
    const parsed = parseName(name.toArrayBuffer());
    try {
      return legacyOpensslDn(parsed);
    } catch {
      return gridDnForDisplay(parsed); // a CA name dCache cannot print matches no policy: refused under _REQUIRE
    }
  };
  return path.map((cert) => {
    const hash = trust.cas.find((ca) => ca.hash !== undefined && sameName(ca.cert.subjectName, cert.issuerName))?.hash;
    return { subjectDn: legacy(cert.subjectName), issuerDn: legacy(cert.issuerName), selfSigned: sameName(cert.subjectName, cert.issuerName), proxy: false, ...(hash ? { issuerHash: hash } : {}) };
  });
}

function grid(name: x509.Name): string {
  try {
    return gridDnForDisplay(parseName(name.toArrayBuffer()));
  } catch {
    return name.toString();
  }
}

function nameRdns(name: x509.Name): AsnName {
  return AsnConvert.parse(name.toArrayBuffer(), AsnName);
}

/** A copy backed by a plain ArrayBuffer (what the ASN.1 and WebCrypto APIs take). */
function bytes(data: Uint8Array): ArrayBuffer {
  return new Uint8Array(data).buffer;
}
