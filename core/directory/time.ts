/** LDAP GeneralizedTime, the one formatter and parser for portal and agent. */
import { ValidationError } from '../errors.js';

/** LDAP GeneralizedTime (UTC, whole seconds): 20250131235959Z. */
export function toGeneralizedTime(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new ValidationError('invalid date');
  return d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** YYYYMMDDHHMMSSZ, the form this project writes, without a regular expression (the map reads one per identity). */
function wholeSecondsUtc(s: string): number | undefined {
  if (s.length !== 15 || s.charCodeAt(14) !== 90 /* Z */) return undefined;
  const num = (from: number, length: number): number => {
    let v = 0;
    for (let k = from; k < from + length; k++) {
      const c = s.charCodeAt(k) - 48;
      if (c < 0 || c > 9) return Number.NaN;
      v = v * 10 + c;
    }
    return v;
  };
  const year = num(0, 4), month = num(4, 2), day = num(6, 2), hour = num(8, 2), minute = num(10, 2), second = num(12, 2);
  // NaN fails every comparison: a non-digit falls through to the general parser (and its error).
  if (!(year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 60)) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

const GENERALIZED = /^(\d{4})(\d{2})(\d{2})(\d{2})(?:(\d{2})(?:(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{4})$/;

/**
 * Parse GeneralizedTime (RFC 4517 3.3) as slapd stores it: YYYYMMDDHH[MM[SS[.fff]]] and Z or a
 * +hhmm/-hhmm offset. Fractions are taken only of seconds; anything else is a ValidationError.
 */
export function fromGeneralizedTime(s: string): Date {
  const fast = wholeSecondsUtc(s);
  if (fast !== undefined) return new Date(fast);
  const m = GENERALIZED.exec(s);
  if (!m) throw new ValidationError(`not a GeneralizedTime: ${s}`);
  const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
  const zone = m[8]!;
  const offsetMinutes = zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +(m[5] ?? 0), +(m[6] ?? 0), ms) - offsetMinutes * 60_000;
  const d = new Date(t);
  if (Number.isNaN(t) || +m[2]! < 1 || +m[2]! > 12 || +m[3]! < 1 || +m[3]! > 31 || +m[4]! > 23 || +(m[5] ?? 0) > 59 || +(m[6] ?? 0) > 60) {
    throw new ValidationError(`not a GeneralizedTime: ${s}`);
  }
  return d;
}
