/**
 * Certificate login: the client certificate chain comes from the TLS connection (the portal asks
 * for a certificate but lets the handshake finish without one, then verifies in code, see
 * certificate-chain.ts), or — only when configured and only from configured addresses — from a
 * reverse proxy's header carrying the URL-encoded PEM chain (nginx: $ssl_client_escaped_cert).
 */
import type { Request } from 'express';
import type { TLSSocket, DetailedPeerCertificate } from 'node:tls';
import { ForbiddenError } from '../../core/errors.js';
import type { PortalSection } from '../config.js';
import type { CertificateLogin, LoginIdentity } from '../http/seams.js';
import { CertificateRefused, MAX_CHAIN, verifyChain, type TrustStore } from './certificate-chain.js';

/** The DER chain the client sent, leaf first (Node links the peer chain by issuer). */
export function chainFromSocket(socket: TLSSocket): Uint8Array[] {
  if (typeof socket.getPeerCertificate !== 'function') return [];
  const leaf = socket.getPeerCertificate(true) as DetailedPeerCertificate;
  if (!leaf || !leaf.raw) return [];
  const out: Uint8Array[] = [];
  for (let c: DetailedPeerCertificate | undefined = leaf; c && c.raw && out.length <= MAX_CHAIN; c = c.issuerCertificate) {
    if (out.some((d) => Buffer.from(d).equals(c!.raw))) break; // self-signed or a loop
    out.push(new Uint8Array(c.raw));
  }
  return out;
}

/** PEM certificates in a URL-encoded header value, as DER, leaf first. */
export function chainFromHeader(value: string): Uint8Array[] {
  let pem: string;
  try {
    pem = decodeURIComponent(value);
  } catch {
    throw new CertificateRefused('the forwarded client certificate header is not URL-encoded PEM');
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) throw new CertificateRefused('the forwarded client certificate header holds no certificate');
  return blocks.slice(0, MAX_CHAIN + 1).map((b) => new Uint8Array(Buffer.from(b.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, ''), 'base64')));
}

export class TlsCertificateLogin implements CertificateLogin {
  constructor(private readonly store: TrustStore, private readonly config: PortalSection) {}

  async identify(req: Request): Promise<LoginIdentity & { input: { type: 'x509'; subject: string } }> {
    const chain = this.fromProxy(req) ?? chainFromSocket(req.socket as TLSSocket);
    if (!chain.length) {
      throw new CertificateRefused('your browser did not present a client certificate: import your certificate (PKCS#12) into the browser and try again');
    }
    const v = await verifyChain(chain, this.store);
    return {
      input: { type: 'x509', subject: v.subjectGrid, issuer: v.issuerGrid, notAfter: v.notAfter, ...(v.subjectGridForms.length > 1 ? { forms: v.subjectGridForms.slice(1) } : {}) },
      label: v.subjectGrid,
    };
  }

  private fromProxy(req: Request): Uint8Array[] | undefined {
    const rp = this.config.reverseProxy;
    const header = req.get(rp.certHeader);
    if (!rp.enabled) return undefined;
    const peer = req.socket.remoteAddress ?? '';
    if (!rp.trustedAddresses.includes(peer.replace(/^::ffff:/, ''))) {
      if (header) throw new ForbiddenError(`a client certificate header came from ${peer}, which is not a trusted reverse proxy`);
      return undefined;
    }
    return header ? chainFromHeader(header) : undefined;
  }
}
