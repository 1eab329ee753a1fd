import { isIP } from 'node:net';

/** Whom the server certificate must name: `host` for the check, and SNI only for a name (RFC 6066 forbids an IP there). */
export function tlsPeer(hostname: string): { host: string; servername?: string } {
  const host = hostname.replace(/^\[|\]$/g, '');
  return isIP(host) ? { host } : { host, servername: host };
}
