/**
 * Certificate lifecycle as people see it: how close an identity's latest known certificate is to
 * its expiry, and what to do about it. The subject is the identity: a renewed certificate with the
 * same subject keeps working as soon as it is used (the map never drops a DN for an expired
 * certificate; dCache refuses the expired certificate itself at TLS).
 */

/** Days before expiry at which the owner is warned (page and mail). */
export const EXPIRY_WARNING_DAYS = [30, 7, 1] as const;

const DAY = 86_400_000;

export interface ExpiryWarning {
  /** whole days left (0: expires within the day); negative: expired that many days ago */
  days: number;
  /** the smallest threshold reached (30, 7 or 1), or 0 once expired */
  threshold: number;
  text: string;
}

/** A warning for a certificate expiring within 30 days or already expired; undefined otherwise. */
export function expiryWarning(notAfter: Date | undefined, now = new Date()): ExpiryWarning | undefined {
  if (!notAfter) return undefined;
  const ms = notAfter.getTime() - now.getTime();
  const date = notAfter.toISOString().slice(0, 10);
  if (ms < 0) {
    return { days: -Math.ceil(-ms / DAY), threshold: 0, text: `expired on ${date}: renew it with your certificate authority and log in with the renewed certificate` };
  }
  const days = Math.floor(ms / DAY);
  const threshold = [...EXPIRY_WARNING_DAYS].reverse().find((t) => days <= t);
  if (threshold === undefined) return undefined;
  const when = days === 0 ? 'today' : days === 1 ? 'in 1 day' : `in ${days} days`;
  return { days, threshold, text: `expires ${when} (${date}): renew it with your certificate authority, then log in here with the renewed certificate` };
}

/** What a person reads when the portal refuses an expired certificate at login. */
export const EXPIRED_CERTIFICATE_HINT =
  'Renew the certificate with your certificate authority and import the renewed one (PKCS#12) into your browser. ' +
  'If the renewed certificate has the same subject, just log in with it: your account and storage access continue unchanged. ' +
  'If its subject is different, log in with another certificate or identity provider already linked to your account and bind the new certificate from your account page; ' +
  'if you have none left, ask the data centre to bind it for you.';
