/**
 * Open the directory the configuration names: an LDAP server when ldap.url is set, otherwise
 * a managed slapd under <varDir>/slapd (the embedded default for the demo and newcomers), attached
 * to when another process already runs it, started otherwise.
 */
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { DirectoryConfig } from '../ldap/config.js';
import { LdapConnection } from '../ldap/connection.js';
import { findRunningSlapd, startManagedSlapd, type ManagedAccount, type ManagedSlapd } from '../ldap/managed-slapd.js';
import { Directory } from './directory.js';

export interface OpenDirectory {
  directory: Directory;
  ldap: LdapConnection;
  /** Present when we started our own slapd. */
  slapd?: ManagedSlapd;
  /** Close the connection and stop the managed slapd, if any. */
  close(): Promise<void>;
}

export async function openDirectory(
  config: DirectoryConfig,
  options: { varDir?: string; account?: ManagedAccount; log?: Logger } = {},
): Promise<OpenDirectory> {
  let slapd: ManagedSlapd | undefined;
  let ldap: LdapConnection;
  const running = config.ldap.url ? undefined : findRunningSlapd(join(options.varDir ?? 'var', 'slapd'));
  if (config.ldap.url) {
    ldap = LdapConnection.fromConfig(config.ldap);
  } else if (running) {
    // Another process (the demo portal) runs the managed slapd: use it rather than start a second one.
    const account = running.credentials[options.account ?? 'portal'];
    ldap = new LdapConnection({ url: running.url, bindDn: account.dn, password: account.password, connectTimeoutMs: config.ldap.connectTimeoutMs, operationTimeoutMs: config.ldap.operationTimeoutMs, maxConcurrency: config.ldap.maxConcurrency, poolSize: config.ldap.poolSize });
  } else {
    slapd = await startManagedSlapd({ dir: join(options.varDir ?? 'var', 'slapd'), baseDn: config.ldap.baseDn, ranges: config.ranges, log: options.log });
    ldap = slapd.connect(options.account ?? 'portal', {
      connectTimeoutMs: config.ldap.connectTimeoutMs,
      operationTimeoutMs: config.ldap.operationTimeoutMs,
      maxConcurrency: config.ldap.maxConcurrency,
      poolSize: config.ldap.poolSize,
    });
  }
  const directory = new Directory({ ldap, baseDn: config.ldap.baseDn, ranges: config.ranges });
  return {
    directory,
    ldap,
    slapd,
    async close() {
      await ldap.close();
      await slapd?.stop();
    },
  };
}
