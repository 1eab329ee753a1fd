/** Parameter parsing: form, query and JSON values arrive as unknown and leave as bounded strings. */

/** The value if it is a string, cut to `max` characters; '' for anything else (arrays, objects, absent). */
export function stringParam(value: unknown, max = 200): string {
  return typeof value === 'string' ? value.slice(0, max) : '';
}
