/** The agent's LDAP connection: the configured server, or the demo portal's running managed slapd. */
import { ConfigError } from '../core/errors.js';
import { connectConfiguredOrRunning } from '../core/ldap/connect.js';
import type { LdapConnection } from '../core/ldap/connection.js';
import type { AgentConfig } from './config.js';

export function connectAgent(cfg: AgentConfig, varDir = 'var'): LdapConnection {
  const ldap = connectConfiguredOrRunning(cfg.ldap, { varDir, account: 'agent' });
  if (!ldap) throw new ConfigError('no ldap.url is configured and no managed slapd runs under var/slapd (start the portal demo, or configure ldap.url, ldap.bindDn and ldap.password)');
  return ldap;
}
