import { ValidationError } from '../errors.js';

/** LDAP GeneralizedTime (UTC, whole seconds): 20250131235959Z. */
export function toGeneralizedTime(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new ValidationError('invalid date');
  return d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Parse GeneralizedTime as slapd returns it (YYYYMMDDHHMMSS[.fff]Z). */
export function fromGeneralizedTime(s: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:[.,](\d+))?Z$/.exec(s);
  if (!m) throw new ValidationError(`not a GeneralizedTime: ${s}`);
  const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, ms));
}

export function optionalTime(s: string | undefined): Date | undefined {
  return s === undefined ? undefined : fromGeneralizedTime(s);
}
