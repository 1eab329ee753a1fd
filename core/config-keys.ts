/**
 * Unknown configuration keys, found by walking the zod schema beside the merged input: a key the
 * schema does not know is an error naming the closest known key (edit distance), so a typo such
 * as `bindDN` or `fullSyncShedule` fails at start-up instead of silently falling back to a
 * default. Works on every section's schema as written (objects, defaults, preprocess pipes,
 * records, arrays); parts it cannot see through (unions, lazy) are not checked here.
 */
import type { z } from 'zod';
import type { Issue } from './errors.js';

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  valueType?: z.ZodType;
  element?: z.ZodType;
}

const def = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The object schema's keys, seen through wrappers; undefined when `schema` is not an object. */
export function knownKeys(schema: z.ZodType): string[] | undefined {
  const s = unwrap(schema);
  const d = s && def(s);
  return d?.type === 'object' ? Object.keys(d.shape ?? {}) : undefined;
}

/** Every key of `value` that `schema` does not know, with a suggestion. */
export function unknownKeyIssues(schema: z.ZodType, value: unknown, path: string[] = []): Issue[] {
  const s = unwrap(schema);
  if (!s || value === null || typeof value !== 'object') return [];
  const d = def(s);
  const issues: Issue[] = [];
  if (d.type === 'object' && !Array.isArray(value)) {
    const shape = d.shape ?? {};
    const known = Object.keys(shape);
    for (const [key, v] of Object.entries(value)) {
      const at = [...path, key];
      if (shape[key]) issues.push(...unknownKeyIssues(shape[key], v, at));
      else issues.push({ path: at.join('.'), message: unknownKeyMessage(key, known) });
    }
  } else if (d.type === 'record' && d.valueType && !Array.isArray(value)) {
    for (const [key, v] of Object.entries(value)) issues.push(...unknownKeyIssues(d.valueType, v, [...path, key]));
  } else if (d.type === 'array' && d.element && Array.isArray(value)) {
    value.forEach((v, i) => issues.push(...unknownKeyIssues(d.element!, v, [...path, String(i)])));
  }
  return issues;
}

export function unknownKeyMessage(key: string, known: string[]): string {
  const best = closest(key, known);
  if (best) return `unknown key ${JSON.stringify(key)}; did you mean ${JSON.stringify(best)}?`;
  return `unknown key ${JSON.stringify(key)}; known keys: ${known.join(', ') || '(none)'}`;
}

/** The known key nearest to `key` (case-insensitive edit distance), if near enough to be a typo. */
export function closest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** Through optional/default/prefault/nullable/readonly/catch and pipes (preprocess: its output; transform: its input). */
function unwrap(schema: z.ZodType): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (let depth = 0; s && depth < 20; depth++) {
    const d = def(s);
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe') s = d.out && def(d.out).type !== 'transform' ? d.out : d.in;
    else return s;
  }
  return s;
}
