/**
 * Certificate shapes server/pki.ts does not make, for the certificate tests: draft-RFC (GT3)
 * proxies (ProxyCertInfo 1.3.6.1.4.1.3536.1.222, CANL DraftRFCProxyCertInfoExtension layout),
 * legacy Globus proxies (no extension, last CN "proxy" / "limited proxy"), and user
 * certificates with a raw DER subject (see test/support/der-name.ts).
 */
import 'reflect-metadata'; // @peculiar/x509 (tsyringe) needs it loaded first
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Name as AsnName } from '@peculiar/asn1-x509';
import { ALG, issue, newKeys, type Issued } from './pki.js';
import { webcrypto } from 'node:crypto';

export const DRAFT_PROXY_OID = '1.3.6.1.4.1.3536.1.222';
const INHERIT_ALL = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x15, 0x01];

/** Draft ProxyCertInfo: SEQUENCE { proxyPolicy SEQUENCE { inheritAll }, [1] EXPLICIT INTEGER pathLen OPTIONAL }. */
export function draftProxyCertInfo(pathLen?: number): ArrayBuffer {
  const policy = [0x30, INHERIT_ALL.length, ...INHERIT_ALL];
  const inner = pathLen === undefined ? policy : [...policy, 0xa1, 0x03, 0x02, 0x01, pathLen];
  return new Uint8Array([0x30, inner.length, ...inner]).buffer;
}

let serial = Date.now() * 7;

/** A proxy of `issuer`: subject = issuer's subject (as DER) + one CN. */
export async function issueShapedProxy(issuer: Issued, o: { type: 'draft' | 'legacy'; cn?: string; pathLen?: number; critical?: boolean }): Promise<Issued> {
  const keys = await newKeys();
  const cn = o.cn ?? (o.type === 'legacy' ? 'proxy' : String(Math.floor(Math.random() * 1e9)));
  const issuerName = AsnConvert.parse(issuer.cert.subjectName.toArrayBuffer(), AsnName);
  const subject = new x509.Name(AsnConvert.serialize([...issuerName, ...AsnConvert.parse(new x509.Name([{ CN: [cn] }]).toArrayBuffer(), AsnName)].reduce((n, rdn) => (n.push(rdn), n), new AsnName())));
  const cert = await x509.X509CertificateGenerator.create({
    subject, issuer: issuer.cert.subjectName, publicKey: keys.publicKey, signingKey: issuer.keys.privateKey,
    serialNumber: (++serial).toString(16), signingAlgorithm: ALG,
    notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 12 * 3600_000),
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      ...(o.type === 'draft' ? [new x509.Extension(DRAFT_PROXY_OID, o.critical ?? true, draftProxyCertInfo(o.pathLen))] : []),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  return { cert, keys, certPem: cert.toString('pem'), keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

/** A user certificate whose subject is exactly these DER bytes (string types, orders and values kept). */
export async function issueRawSubject(ca: Issued, subjectDer: Uint8Array): Promise<Issued> {
  const c = await issue(ca, new x509.Name(new Uint8Array(subjectDer).buffer) as unknown as x509.JsonName, 'user');
  if (!Buffer.from(c.cert.subjectName.toArrayBuffer()).equals(Buffer.from(subjectDer))) throw new Error('the certificate library re-encoded the subject');
  return c;
}
