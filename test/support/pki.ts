import 'reflect-metadata'; // @peculiar/x509 (tsyringe) needs it loaded first
/**
 * A small PKI for the demo and the tests: a CA, user certificates with any subject (multi-valued
 * RDNs, UTF-8), RFC 3820 proxy certificates (and proxies of proxies), CRLs, and PKCS#12 files
 * for importing a user certificate into a browser. Built on @peculiar/x509 (WebCrypto), with
 * node-forge only for PKCS#12. RSA keys, because browsers and PKCS#12 tooling expect them.
 */
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import forge from 'node-forge';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Name as AsnName } from '@peculiar/asn1-x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export const ALG = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 } as const;
import { PROXY_CERT_INFO_OID } from '../../server/auth/oids.js';

export { PROXY_CERT_INFO_OID };

/** Name as JSON: one record per RDN; several keys in a record make a multi-valued RDN. */
export type NameSpec = Record<string, (string | { utf8String: string } | { printableString: string })[]>[] | string;

export interface Issued {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  /** PEM of the certificate */
  certPem: string;
  /** PKCS#8 PEM of the private key */
  keyPem: string;
}

export interface CertOptions {
  notBefore?: Date;
  notAfter?: Date;
  serialNumber?: string;
  extensions?: x509.Extension[];
}

let serial = Date.now();
function nextSerial(): string {
  serial++;
  return serial.toString(16).padStart(16, '0');
}

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function finish(cert: x509.X509Certificate, keys: CryptoKeyPair): Promise<Issued> {
  return { cert, keys, certPem: cert.toString('pem'), keyPem: await keyPem(keys) };
}

export async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
}

const days = (n: number) => new Date(Date.now() + n * 86400_000);

export async function createCa(name: NameSpec, o: CertOptions = {}): Promise<Issued> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: name as x509.JsonName, keys, serialNumber: o.serialNumber ?? nextSerial(), signingAlgorithm: ALG,
    notBefore: o.notBefore ?? days(-1), notAfter: o.notAfter ?? days(3650),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...(o.extensions ?? []),
    ],
  });
  return finish(cert, keys);
}

/** An intermediate CA, a user (end-entity) certificate or a server certificate, signed by `issuer`. */
export async function issue(issuer: Issued, subject: NameSpec, kind: 'user' | 'server' | 'ca', o: CertOptions & { dnsNames?: string[] } = {}): Promise<Issued> {
  const keys = await newKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(kind === 'ca', undefined, true),
    new x509.KeyUsagesExtension(kind === 'ca' ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (kind === 'user') extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]));
  if (kind === 'server') {
    extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]));
    extensions.push(new x509.SubjectAlternativeNameExtension((o.dnsNames ?? ['localhost']).map((d) => ({ type: (/^[\d.]+$/.test(d) ? 'ip' : 'dns') as 'ip' | 'dns', value: d }))));
  }
  const cert = await x509.X509CertificateGenerator.create({
    subject: subject as x509.JsonName, issuer: issuer.cert.subjectName, publicKey: keys.publicKey, signingKey: issuer.keys.privateKey,
    serialNumber: o.serialNumber ?? nextSerial(), signingAlgorithm: ALG, notBefore: o.notBefore ?? days(-1), notAfter: o.notAfter ?? days(365),
    extensions: [...extensions, ...(o.extensions ?? [])],
  });
  return finish(cert, keys);
}

/** DER of ProxyCertInfo { pCPathLenConstraint?, proxyPolicy { id-ppl-inheritAll } } (RFC 3820 section 3.8). */
export function proxyCertInfo(pathLen?: number): ArrayBuffer {
  const policy = [0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x15, 0x01];
  const inner = pathLen === undefined ? policy : [0x02, 0x01, pathLen, ...policy];
  return new Uint8Array([0x30, inner.length, ...inner]).buffer;
}

/** An RFC 3820 proxy: subject = issuer's subject + one CN, critical ProxyCertInfo, signed by the issuer (an EEC or a proxy). */
export async function issueProxy(issuer: Issued, o: CertOptions & { pathLen?: number; cn?: string } = {}): Promise<Issued> {
  const keys = await newKeys();
  const cn = o.cn ?? String(Math.floor(Math.random() * 1e9));
  // The issuer's subject as DER RDNs plus one CN (RFC 3820 section 3.4): re-encoding via text could alter string types.
  const issuerName = AsnConvert.parse(issuer.cert.subjectName.toArrayBuffer(), AsnName);
  const subject = new x509.Name(AsnConvert.serialize([...issuerName, ...AsnConvert.parse(new x509.Name([{ CN: [cn] }]).toArrayBuffer(), AsnName)].reduce((n, rdn) => (n.push(rdn), n), new AsnName())));
  const cert = await x509.X509CertificateGenerator.create({
    subject, issuer: issuer.cert.subjectName, publicKey: keys.publicKey, signingKey: issuer.keys.privateKey,
    serialNumber: o.serialNumber ?? nextSerial(), signingAlgorithm: ALG,
    notBefore: o.notBefore ?? new Date(Date.now() - 60_000), notAfter: o.notAfter ?? new Date(Date.now() + 12 * 3600_000),
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.Extension(PROXY_CERT_INFO_OID, true, proxyCertInfo(o.pathLen)),
      ...(o.extensions ?? []),
    ],
  });
  return finish(cert, keys);
}

export async function createCrl(ca: Issued, revoked: x509.X509Certificate[], o: { thisUpdate?: Date; nextUpdate?: Date } = {}): Promise<x509.X509Crl> {
  return x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName, signingKey: ca.keys.privateKey, signingAlgorithm: ALG,
    thisUpdate: o.thisUpdate ?? new Date(Date.now() - 60_000), nextUpdate: o.nextUpdate ?? days(7),
    entries: revoked.map((c) => ({ serialNumber: c.serialNumber, revocationDate: new Date(Date.now() - 30_000) })),
  });
}

/** PKCS#12 (3DES/SHA1 as browsers import it) with the certificate, its chain and the key. */
export function pkcs12(leaf: Issued, chain: x509.X509Certificate[], password: string, friendlyName = 'campaign-guard'): Buffer {
  const key = forge.pki.privateKeyFromPem(leaf.keyPem);
  const certs = [leaf.certPem, ...chain.map((c) => c.toString('pem'))].map((p) => forge.pki.certificateFromPem(p));
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, certs, password, { algorithm: '3des', friendlyName });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}
