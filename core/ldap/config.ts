/**
 * Config sections for directory access and number allocation, validated with zod and loaded
 * with core/config.ts loadConfig. Example (YAML):
 *
 *   ldap:
 *     url: ldaps://ldap.example.org      # absent: managed slapd under var/slapd (demo, tests)
 *     bindDn: cn=portal,ou=services,dc=campaign-guard,dc=example
 *     passwordFile: /etc/campaign-guard/ldap.pw
 *     baseDn: dc=campaign-guard,dc=example
 *   ranges:
 *     uid: { min: 10000, max: 59999 }
 *     gid: { min: 100000, max: 199999 }
 *   allocation:                        # only with two writing providers (docs/replication.md)
 *     partition: { index: 0, count: 2 }
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { envBoolean } from '../config.js';

export const DEFAULT_BASE_DN = 'dc=campaign-guard,dc=example';

/** localhost, 127.0.0.0/8 and ::1: traffic that never leaves the host. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

const int = z.coerce.number().int();

export const ldapConfigSchema = z
  .object({
    /** ldap:// or ldaps:// URL; absent means "start a managed slapd under var/". */
    url: z
      .string()
      .regex(/^ldaps?:\/\/[^/\s]+\/?$/, 'must be ldap://host[:port] or ldaps://host[:port]')
      .optional(),
    bindDn: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    passwordFile: z.string().min(1).optional(),
    baseDn: z.string().min(1).default(DEFAULT_BASE_DN),
    connectTimeoutMs: int.positive().default(3000),
    operationTimeoutMs: int.positive().default(10000),
    /** Operations in flight at once; slapd drops a connection with ~1000 outstanding. */
    maxConcurrency: int.min(1).max(900).default(64),
    /** Connections kept open to the server. */
    poolSize: int.min(1).max(64).default(4),
    /** PEM file with the CA(s) to trust for ldaps:// and StartTLS; absent = system trust store. */
    caFile: z.string().min(1).optional(),
    /** Upgrade an ldap:// connection with StartTLS (RFC 4513) before binding. */
    startTls: envBoolean.default(false),
    /** Allow plain ldap:// (no TLS) to a host that is not loopback: passwords would cross the network in the clear. */
    allowPlainRemote: envBoolean.default(false),
  })
  .superRefine((v, ctx) => {
    if (v.url?.startsWith('ldap://') && !v.startTls && !v.allowPlainRemote && !isLoopback(new URL(v.url).hostname)) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: `plain ldap:// to ${new URL(v.url).hostname} would send the bind password in the clear: use ldaps://, or startTls: true (or allowPlainRemote: true if you must)` });
    }
    if (v.startTls && v.url?.startsWith('ldaps://')) ctx.addIssue({ code: 'custom', path: ['startTls'], message: 'ldaps:// is TLS already: startTls is for ldap:// URLs' });
    if (v.url && !v.bindDn) ctx.addIssue({ code: 'custom', path: ['bindDn'], message: 'required when url is set' });
    if (v.url && !v.password && !v.passwordFile) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'password or passwordFile is required when url is set' });
    }
    if (v.password && v.passwordFile) {
      ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'give password or passwordFile, not both' });
    }
  });
export type LdapConfig = z.infer<typeof ldapConfigSchema>;

const range = z
  .object({ min: int.min(1).max(2 ** 31 - 2), max: int.min(1).max(2 ** 31 - 2) })
  .refine((r) => r.min <= r.max, { message: 'min must not exceed max' });
export type NumberRange = z.infer<typeof range>;

export const rangesConfigSchema = z.object({
  uid: range.prefault({ min: 10000, max: 59999 }),
  gid: range.prefault({ min: 100000, max: 199999 }),
});
export type RangesConfig = z.infer<typeof rangesConfigSchema>;

/**
 * Multi-provider writers (docs/replication.md): each portal writing to its own provider takes a
 * fixed share of the number ranges, `partition: { index, count }` (index 0..count-1, the same
 * count everywhere). Absent: one writer.
 */
export const allocationConfigSchema = z.object({
  partition: z
    .object({ index: int.min(0), count: int.min(2).max(64) })
    .refine((p) => p.index < p.count, { message: 'index must be 0..count-1' })
    .optional(),
});
export type AllocationConfig = z.infer<typeof allocationConfigSchema>;

/** The sections together, for programs that need them all (the portal). */
export const directoryConfigSchema = z.object({
  ldap: ldapConfigSchema.prefault({}),
  ranges: rangesConfigSchema.prefault({}),
  allocation: allocationConfigSchema.prefault({}),
});
export type DirectoryConfig = z.infer<typeof directoryConfigSchema>;

/** The bind password from `password` or `passwordFile` (trailing newline stripped). */
export function resolveLdapPassword(cfg: LdapConfig): string | undefined {
  if (cfg.password) return cfg.password;
  if (!cfg.passwordFile) return undefined;
  try {
    return readFileSync(cfg.passwordFile, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(`cannot read ldap.passwordFile ${cfg.passwordFile}: ${(err as Error).message}`, { cause: err });
  }
}
