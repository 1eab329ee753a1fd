/**
 * One validated configuration for portal and agent: a YAML (or JSON) file, overridden by
 * environment variables, checked once at start-up with zod. Each program validates the
 * sections it uses (portal: ldap, ranges, portal; agent: ldap, ranges, agent) and skips the other
 * program's known section (one file can serve both); any other unknown key, at any depth, is an
 * error naming the closest known key (config-keys.ts).
 *
 * Environment: CG_<SECTION>__<KEY>[__<KEY>...], upper snake case, mapped to camelCase keys,
 * e.g. CG_LDAP__BIND_DN=cn=admin,dc=example -> { ldap: { bindDn: 'cn=admin,dc=example' } }.
 * CG_CONFIG names the file when no path is given.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { knownKeys, unknownKeyIssues } from './config-keys.js';
import { ConfigError, schemaIssues, type Issue } from './errors.js';

export const ENV_PREFIX = 'CG_';

// The YAML parser (some 70 modules) is loaded when a configuration file is read, not by every importer of the schemas.
const require = createRequire(import.meta.url);
const parseYaml = (text: string): unknown => (require('yaml') as typeof import('yaml')).parse(text);

/** Every top-level section any program reads: a program skips the ones it does not use. */
export const KNOWN_SECTIONS = ['ldap', 'ranges', 'portal', 'agent'];

/** Read, merge and validate. Throws ConfigError listing every problem at once. */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  options: { file?: string; env?: NodeJS.ProcessEnv } = {},
): z.infer<S> {
  const env = options.env ?? process.env;
  const file = options.file ?? env.CG_CONFIG;
  const fromFile = file ? readConfigFile(file) : {};
  const merged = withoutOtherSections(schema, deepMerge(fromFile, envToObject(env)));
  // Parsed once: zod's compiled fast path (new Function per object schema) costs more than it saves here.
  const result = schema.safeParse(merged, { jitless: true });
  const issues = [...unknownKeyIssues(schema, merged), ...(result.success ? [] : schemaIssues(result.error))];
  if (issues.length || !result.success) {
    const where = file ? ` (file ${file}, plus ${ENV_PREFIX}* environment)` : '';
    throw new ConfigError(`invalid configuration${where}:\n${formatIssues(issues)}`, { issues });
  }
  return result.data;
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid YAML/JSON: ${(err as Error).message}`, { cause: err });
  }
  if (parsed == null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file} must hold a mapping of sections at top level`);
  }
  return parsed as Record<string, unknown>;
}

/** The input without the sections of other programs (known sections this schema does not have). */
function withoutOtherSections(schema: z.ZodType, input: Record<string, unknown>): Record<string, unknown> {
  const own = knownKeys(schema);
  if (!own) return input;
  return Object.fromEntries(Object.entries(input).filter(([k]) => own.includes(k) || !KNOWN_SECTIONS.includes(k)));
}

/**
 * CG_LDAP__BIND_DN=x -> { ldap: { bindDn: 'x' } }. Values stay strings (schemas coerce) unless written
 * as JSON lists or maps; lists declared with envList also take comma-separated values. Names
 * without a `__` (CG_CONFIG, CG_LOG_LEVEL, CG_KEEP_SLAPD) are not configuration paths.
 */
export function envToObject(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined || !name.includes('__')) continue;
    const path = name.slice(ENV_PREFIX.length).split('__').map(snakeToCamel);
    if (path.some((p) => p === '')) continue;
    let node = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      node = (typeof next === 'object' && next !== null ? next : (node[key] = {})) as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = jsonOrString(value);
  }
  return out;
}

/** A value written as JSON (a list `["/a","/b"]` or a map `{"https://iam/":"iam"}`) is read as such; anything else stays a string. */
function jsonOrString(value: string): unknown {
  const t = value.trim();
  if (!(t.startsWith('[') || t.startsWith('{'))) return value;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return value;
  }
}

function snakeToCamel(s: string): string {
  return s.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** `over` on `base`: maps merged key by key, anything else (lists, values) replaced. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function formatIssues(issues: Issue[]): string {
  return issues.map((i) => `  - ${i.path ?? '(top level)'}: ${i.message}`).join('\n');
}

/** Environment-friendly boolean: accepts true/false/1/0/yes/no as strings. */
export const envBoolean = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off', ''].includes(s)) return false;
  return v;
}, z.boolean());

/** Environment-friendly list: accepts an array or a comma-separated string. */
export function envList<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
    z.array(item),
  );
}
