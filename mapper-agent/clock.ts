/**
 * Clock sanity before any decision that depends on an embargo date. The agent's own clock is not
 * trusted alone: a node whose clock runs a day ahead must not open data a day early. The reference
 * is the directory server's clock, read from OpenLDAP's monitor backend (`monitorTimestamp` of
 * cn=Current,cn=Time,cn=Monitor: slapd's current time; back-monitor is built into Debian's slapd, and
 * the service account needs read access to that entry, see ldap-schema/README.md). The two clocks
 * must agree within `maxSkewSeconds`, allowing for the read's round trip and the second the
 * server's value is truncated to.
 */
import { fromGeneralizedTime } from '../core/directory/time.js';
import { CampaignGuardError } from '../core/errors.js';
import type { LdapConnection } from '../core/ldap/connection.js';

/** Embargo lifting refused: the clock could not be checked against the directory server's (a safety guard, exit 2). */
export class ClockRefusedError extends CampaignGuardError {
  static override code = 'ERR_CLOCK_REFUSED';
  override readonly code = 'ERR_CLOCK_REFUSED';
  override readonly name = 'ClockRefusedError';
}

export const TIME_ENTRY = 'cn=Current,cn=Time,cn=Monitor';

export type ClockCheck =
  /** the clocks agree: `now` is the server's time, corrected for half the round trip */
  | { ok: true; now: Date; skewSeconds: number }
  | { ok: false; reason: string; skewSeconds?: number };

export async function checkClock(ldap: LdapConnection, maxSkewSeconds: number, localClock: () => Date = () => new Date()): Promise<ClockCheck> {
  const sent = localClock().getTime();
  let value: string | undefined;
  try {
    value = (await ldap.read(TIME_ENTRY, ['monitorTimestamp']))?.get('monitorTimestamp');
  } catch (err) {
    return { ok: false, reason: `cannot read the directory server's time (${TIME_ENTRY}): ${(err as Error).message}` };
  }
  const received = localClock().getTime();
  if (!value) return { ok: false, reason: `the directory server does not show its time (${TIME_ENTRY} monitorTimestamp): enable back-monitor and let the agent read it` };
  let server: number;
  try {
    server = fromGeneralizedTime(value).getTime();
  } catch {
    return { ok: false, reason: `the directory server's time is not a GeneralizedTime: ${JSON.stringify(value)}` };
  }
  const local = (sent + received) / 2;
  // The server's value is truncated to whole seconds: it lies in [server, server + 1 s).
  const skewMs = local < server ? local - server : local > server + 1000 ? local - (server + 1000) : 0;
  const skewSeconds = Math.round(skewMs / 100) / 10;
  const allowed = maxSkewSeconds * 1000 + (received - sent) / 2;
  if (Math.abs(skewMs) > allowed) {
    return { ok: false, skewSeconds, reason: `this host's clock is ${Math.abs(skewSeconds)} s ${skewMs > 0 ? 'ahead of' : 'behind'} the directory server's (allowed ${maxSkewSeconds} s): fix time synchronisation (chrony/NTP) on both` };
  }
  return { ok: true, now: new Date(server + 500 + (received - local)), skewSeconds };
}
