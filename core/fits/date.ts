/** FITS dates as the rolling release reads them (DATE-OBS): strict parsing, and what a header says. */

/** What a file's header says about its observation date (DATE-OBS). */
export type ObservationDate =
  | { kind: 'date'; date: Date; text: string; hdu: number }
  | { kind: 'invalid'; text: string; hdu: number; reason: string };


/**
 * A FITS date value, strictly: 'YYYY-MM-DD' or 'YYYY-MM-DDThh:mm:ss[.fff...]' (FITS Standard 4.0
 * section 9.1.1, what astropy writes), UTC, trailing blanks ignored. Anything else (the old
 * 'DD/MM/YY' form, a leap second, an impossible day, a number, a leading blank) is undefined.
 */
export function parseFitsDate(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?)?$/.exec(value.replace(/ +$/, ''));
  if (!m) return undefined;
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1, 7).map((x) => (x === undefined ? 0 : Number(x)));
  if (h! > 23 || mi! > 59 || s! > 59) return undefined;
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const t = Date.UTC(y!, mo! - 1, d!, h, mi, s, ms);
  const date = new Date(t);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo! - 1 || date.getUTCDate() !== d) return undefined;
  // Date.UTC maps years 0-99 to 1900-1999: the round trip above refuses them too.
  return date;
}
