/**
 * Open the directory the configuration names: an LDAP server when ldap.url is set, otherwise
 * a managed slapd under <varDir>/slapd (the embedded default for the demo and newcomers).
 */
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { DirectoryConfig } from '../ldap/config.js';
import { LdapConnection } from '../ldap/connection.js';
import { startManagedSlapd, type ManagedAccount, type ManagedSlapd } from '../ldap/managed-slapd.js';
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
  if (config.ldap.url) {
    ldap = LdapConnection.fromConfig(config.ldap);
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
