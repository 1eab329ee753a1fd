/**
 * The one answer to "which LDAP server": the configured one (ldap.url), or else the managed
 * slapd that another process (the demo portal) already runs under <varDir>/slapd, bound as the
 * given service account, with the configured timeouts and limits. Undefined when neither: the
 * portal then starts its own managed slapd, the agent refuses to start.
 */
import { join } from 'node:path';
import type { LdapConfig } from './config.js';
import { LdapConnection } from './connection.js';
import { findRunningSlapd, type ManagedAccount } from './managed-slapd.js';

/** The connection options from the config section other than where and who. */
export function connectionLimits(cfg: LdapConfig) {
  return { connectTimeoutMs: cfg.connectTimeoutMs, operationTimeoutMs: cfg.operationTimeoutMs, maxConcurrency: cfg.maxConcurrency, poolSize: cfg.poolSize };
}

export function connectConfiguredOrRunning(cfg: LdapConfig, options: { varDir?: string; account: ManagedAccount }): LdapConnection | undefined {
  if (cfg.url) return LdapConnection.fromConfig(cfg);
  const running = findRunningSlapd(join(options.varDir ?? 'var', 'slapd'));
  if (!running) return undefined;
  const { dn, password } = running.credentials[options.account];
  return new LdapConnection({ url: running.url, bindDn: dn, password, ...connectionLimits(cfg) });
}
