/**
 * A real TLS server that answers each connection with what verifyChain made of the client's
 * chain (JSON: ok and the verified identity, or the error and whether it was a refusal), and the
 * client side that logs in to it presenting certificates. For the certificate-chain tests.
 */
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { CertificateRefused, verifyChain, type TrustStore } from '../../server/auth/certificate-chain.js';
import { chainFromSocket } from '../../server/auth/certificate-login.js';
import { issue, type Issued } from './pki.js';

export interface ChainVerifyServer {
  port: number;
  /** Connect over TLS presenting `certs` (leaf first) with the leaf's key (or `key`). */
  login(certs: Issued[], key?: string): Promise<Record<string, unknown>>;
  close(): void;
}

export async function startChainVerifyServer(ca: Issued, store: TrustStore): Promise<ChainVerifyServer> {
  const serverCert = await issue(ca, [{ CN: ['localhost'] }], 'server', { dnsNames: ['localhost', '127.0.0.1'] });
  const server = createServer({ key: serverCert.keyPem, cert: serverCert.certPem, requestCert: true, rejectUnauthorized: false, ca: [ca.certPem] }, (req, res) => {
    verifyChain(chainFromSocket(req.socket as TLSSocket), store).then(
      (v) => res.end(JSON.stringify({ ok: true, ...v })),
      (err: Error) => res.end(JSON.stringify({ ok: false, error: err.message, refused: err instanceof CertificateRefused })),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    login: (certs, key = certs[0]!.keyPem) => new Promise((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/', ca: ca.certPem, servername: 'localhost', cert: certs.map((c) => c.certPem.trim() + '\n').join(''), key }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
      }).on('error', reject).end();
    }),
    close: () => server.close(),
  };
}
