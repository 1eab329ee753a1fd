/** The agent's LDAP connection: the configured server, or the demo portal's running managed slapd. */
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { LdapConnection } from '../core/ldap/connection.js';
import { findRunningSlapd } from '../core/ldap/managed-slapd.js';
import type { AgentConfig } from './config.js';

export function connectAgent(cfg: AgentConfig, varDir = 'var'): LdapConnection {
  if (cfg.ldap.url) return LdapConnection.fromConfig(cfg.ldap);
  const running = findRunningSlapd(join(varDir, 'slapd'));
  if (!running) throw new ConfigError('no ldap.url is configured and no managed slapd runs under var/slapd (start the portal demo, or configure ldap.url, ldap.bindDn and ldap.password)');
  const { dn, password } = running.credentials.agent;
  return new LdapConnection({ url: running.url, bindDn: dn, password, connectTimeoutMs: cfg.ldap.connectTimeoutMs, operationTimeoutMs: cfg.ldap.operationTimeoutMs, maxConcurrency: cfg.ldap.maxConcurrency, poolSize: cfg.ldap.poolSize });
}
