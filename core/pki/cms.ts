/**
 * CMS SignedData (RFC 5652), shared by the agent (trace batches, compliance documents) and the
 * portal (checking compliance documents). Trace batches: SignedData over a batch root, built with pkijs/asn1js and signed with node:crypto
 * (synchronously: sealing a batch happens inside one SQLite transaction). The content is the
 * 32-byte Merkle root, detached: the signature file (DER) and the root file (32 raw bytes) are
 * checked together with
 *   openssl cms -verify -binary -inform DER -in batch.p7s -content batch.root -CApath <dir> -purpose any -out /dev/null
 * Signed attributes: contentType (id-data), signingTime, messageDigest (SHA-256 of the root), in
 * DER order. The signer is named by issuer and serial number; its certificate (and any
 * intermediates given with it) travels in the SignedData.
 */
import 'reflect-metadata';
import { createHash, createPrivateKey, sign as cryptoSign, X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import * as x509 from '@peculiar/x509';

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
} as const;

export interface Signer {
  /** the signing certificate, then intermediates (DER) */
  chain: Buffer[];
  key: KeyObject;
  /** the host the certificate names (first DNS name, else the CN without a `host/` prefix) */
  host: string;
  /** SHA-256 of the certificate's DER, hex */
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
  subject: string;
}

export class SignerError extends Error {}

function pemBlocks(text: string, what: RegExp): Buffer[] {
  const out: Buffer[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m; (m = re.exec(text)); ) if (what.test(m[1]!)) out.push(Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64'));
  return out;
}

/** The names a certificate gives its host: DNS subject alternative names, then the CN (without `host/`). */
export function hostNames(certDer: Uint8Array): string[] {
  const cert = new x509.X509Certificate(new Uint8Array(certDer));
  const names: string[] = [];
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  for (const n of san?.names.items ?? []) if (n.type === 'dns') names.push(n.value.toLowerCase());
  for (const cn of cert.subjectName.getField('CN')) names.push(cn.replace(/^host\//i, '').toLowerCase());
  return names;
}

/** Load the host certificate (PEM, optionally followed by intermediates) and its key; the key must match. */
export function loadSigner(certFile: string, keyFile: string): Signer {
  let chain: Buffer[];
  let key: KeyObject;
  try {
    chain = pemBlocks(readFileSync(certFile, 'latin1'), /^CERTIFICATE$/);
  } catch (err) {
    throw new SignerError(`cannot read the trace signing certificate ${certFile}: ${(err as Error).message}`);
  }
  if (!chain.length) throw new SignerError(`${certFile}: no PEM certificate in it`);
  try {
    key = createPrivateKey(readFileSync(keyFile));
  } catch (err) {
    throw new SignerError(`cannot read the trace signing key ${keyFile}: ${(err as Error).message}`);
  }
  const cert = new NodeX509(chain[0]!);
  if (!cert.checkPrivateKey(key)) throw new SignerError(`${keyFile} is not the key of ${certFile}`);
  if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') throw new SignerError(`${keyFile}: RSA or EC keys only (got ${key.asymmetricKeyType})`);
  const names = hostNames(chain[0]!);
  if (!names.length) throw new SignerError(`${certFile} names no host (no DNS name, no CN)`);
  return {
    chain, key, host: names[0]!, fingerprint: createHash('sha256').update(chain[0]!).digest('hex'),
    notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo), subject: cert.subject.replace(/\n/g, ', '),
  };
}

const ab = (b: Uint8Array): ArrayBuffer => new Uint8Array(b).buffer;

/** Parsed once per signer: pkijs takes milliseconds to parse or re-encode a certificate. */
const parsed = new WeakMap<Signer, { certs: pkijs.Certificate[] }>();

function certsOf(signer: Signer): { certs: pkijs.Certificate[] } {
  let p = parsed.get(signer);
  if (!p) {
    p = { certs: signer.chain.map((d) => pkijs.Certificate.fromBER(ab(d))) };
    parsed.set(signer, p);
  }
  return p;
}

/** One DER TLV (definite length). */
function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : n < 0x10000 ? Buffer.from([0x82, n >> 8, n & 0xff]) : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

/** CMS SignedData (DER, ContentInfo) over `content`, detached. */
export function signDetached(content: Uint8Array, signer: Signer, at = new Date()): Buffer {
  return signCms(content, signer, at, false);
}

/**
 * CMS SignedData (DER, ContentInfo) carrying `content` (one file an auditor checks alone, e.g. the
 * compliance report: `openssl cms -verify -inform DER -in report.p7m -CApath <dir> -purpose any`).
 */
export function signAttached(content: Uint8Array, signer: Signer, at = new Date()): Buffer {
  return signCms(content, signer, at, true);
}

function signCms(content: Uint8Array, signer: Signer, at: Date, attach: boolean): Buffer {
  const { certs } = certsOf(signer);
  const cert = certs[0]!;
  const digest = createHash('sha256').update(content).digest();
  const attrs = [
    new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
    new pkijs.Attribute({ type: OID.signingTime, values: [at.getUTCFullYear() < 2050 ? new asn1js.UTCTime({ valueDate: at }) : new asn1js.GeneralizedTime({ valueDate: at })] }),
    new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: ab(digest) })] }),
  ];
  // DER: the SET OF is sorted by the attributes' encodings
  const sorted = attrs.map((a) => ({ a, der: Buffer.from(a.toSchema().toBER()) })).sort((x, y) => Buffer.compare(x.der, y.der)).map((x) => x.a);
  const signedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: sorted });
  const toSign = Buffer.from(signedAttrs.toSchema().toBER());
  toSign[0] = 0x31; // signed over as an explicit SET OF, not the [0] IMPLICIT of the encoding (RFC 5652 5.4)
  const rsa = signer.key.asymmetricKeyType === 'rsa';
  const signature = cryptoSign('sha256', toSign, signer.key); // RSA: PKCS#1 v1.5; EC: DER (r, s)
  const sha256Alg = () => new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256, algorithmParams: new asn1js.Null() });
  const signerInfo = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
    digestAlgorithm: sha256Alg(),
    signedAttrs,
    signatureAlgorithm: rsa ? new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() }) : new pkijs.AlgorithmIdentifier({ algorithmId: OID.ecdsaWithSha256 }),
    signature: new asn1js.OctetString({ valueHex: ab(signature) }),
  });
  // SignedData assembled around the certificates' own DER (re-encoding them through pkijs costs milliseconds a batch):
  // ContentInfo { signedData, [0] SignedData { 1, {sha256}, { id-data }, [0] certificates, { signerInfo } } }
  const der = (o: { toSchema(): asn1js.BaseBlock }) => Buffer.from(o.toSchema().toBER());
  const signedData = tlv(0x30,
    Buffer.from([0x02, 0x01, 0x01]),
    tlv(0x31, der(sha256Alg())),
    attach ? tlv(0x30, Buffer.from(new asn1js.ObjectIdentifier({ value: OID.data }).toBER()), tlv(0xa0, tlv(0x04, content)))
      : der(new pkijs.EncapsulatedContentInfo({ eContentType: OID.data })),
    tlv(0xa0, ...signer.chain),
    tlv(0x31, der(signerInfo)));
  return tlv(0x30, Buffer.from(new asn1js.ObjectIdentifier({ value: OID.signedData }).toBER()), tlv(0xa0, signedData));
}

export interface CmsCheck {
  ok: boolean;
  problem?: string;
  /** the signing certificate (DER), when it was found */
  signerDer?: Buffer;
  /** other certificates carried in the SignedData (possible intermediates) */
  others: Buffer[];
  signingTime?: Date;
}

/**
 * Check a detached CMS SignedData over `content`: structure, content type, message digest and the
 * signature with the signer's certificate. The certificate's chain and revocation are checked
 * elsewhere (trust.ts). Never throws.
 */
export async function verifyDetached(der: Uint8Array, content: Uint8Array): Promise<CmsCheck> {
  return verifyCms(der, content);
}

/** Check a CMS SignedData that carries its content (signAttached); the content is returned only when the signature verifies. Never throws. */
export async function verifyAttached(der: Uint8Array): Promise<CmsCheck & { content?: Buffer }> {
  return verifyCms(der, undefined);
}

async function verifyCms(der: Uint8Array, detached: Uint8Array | undefined): Promise<CmsCheck & { content?: Buffer }> {
  const others: Buffer[] = [];
  try {
    const parsed = asn1js.fromBER(ab(der));
    if (parsed.offset === -1 || parsed.offset !== der.length) return { ok: false, problem: 'malformed signature: not one DER structure', others };
    const info = new pkijs.ContentInfo({ schema: parsed.result });
    if (info.contentType !== OID.signedData) return { ok: false, problem: `not CMS SignedData (content type ${info.contentType})`, others };
    const sd = new pkijs.SignedData({ schema: info.content });
    if (sd.encapContentInfo.eContentType !== OID.data) return { ok: false, problem: 'the signed content is not id-data', others };
    if (detached && sd.encapContentInfo.eContent) return { ok: false, problem: 'the signature carries its content: expected a detached signature over the batch root', others };
    if (!detached && !sd.encapContentInfo.eContent) return { ok: false, problem: 'the signature carries no content', others };
    const content = detached ?? Buffer.from(sd.encapContentInfo.eContent!.getValue());
    if (sd.signerInfos.length !== 1) return { ok: false, problem: `expected one signer, found ${sd.signerInfos.length}`, others };
    const certs = (sd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
    const si = sd.signerInfos[0]!;
    if (!(si.sid instanceof pkijs.IssuerAndSerialNumber)) return { ok: false, problem: 'the signer is not named by issuer and serial number', others };
    const sid = si.sid;
    const signer = certs.find((c) => c.issuer.isEqual(sid.issuer) && c.serialNumber.isEqual(sid.serialNumber));
    for (const c of certs) if (c !== signer) others.push(Buffer.from(c.toSchema().toBER()));
    if (!signer) return { ok: false, problem: "the signer's certificate is not in the signature", others };
    const signerDer = Buffer.from(signer.toSchema().toBER());
    let signingTime: Date | undefined;
    const time = si.signedAttrs?.attributes.find((a) => a.type === OID.signingTime)?.values[0];
    if (time instanceof asn1js.UTCTime || time instanceof asn1js.GeneralizedTime) signingTime = time.toDate();
    const result = await sd.verify({ signer: 0, data: ab(content), checkChain: false, extendedMode: true }).catch((err: unknown) => err as pkijs.SignedDataVerifyResult);
    if (!result.signatureVerified) return { ok: false, problem: `the signature does not verify: ${result.message || 'bad signature'}`, signerDer, others, ...(signingTime ? { signingTime } : {}) };
    return { ok: true, signerDer, others, ...(signingTime ? { signingTime } : {}), ...(detached ? {} : { content: Buffer.from(content) }) };
  } catch (err) {
    return { ok: false, problem: `malformed signature: ${(err as Error).message}`, others };
  }
}
