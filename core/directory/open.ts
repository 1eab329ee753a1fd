/**
 * Open the directory the configuration names: an LDAP server when ldap.url is set, otherwise
 * a managed slapd under <varDir>/slapd (the embedded default for the demo and newcomers), attached
 * to when another process already runs it, started otherwise.
 */
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { DirectoryConfig } from '../ldap/config.js';
import { connectConfiguredOrRunning, connectionLimits } from '../ldap/connect.js';
import type { LdapConnection } from '../ldap/connection.js';
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
  const varDir = options.varDir ?? 'var';
  const account = options.account ?? 'portal';
  let slapd: ManagedSlapd | undefined;
  let ldap = connectConfiguredOrRunning(config.ldap, { varDir, account });
  if (!ldap) {
    slapd = await startManagedSlapd({ dir: join(varDir, 'slapd'), baseDn: config.ldap.baseDn, ranges: config.ranges, log: options.log });
    ldap = slapd.connect(account, connectionLimits(config.ldap));
  }
  const partition = config.allocation.partition;
  const directory = new Directory({ ldap, baseDn: config.ldap.baseDn, ranges: config.ranges, ...(partition ? { allocator: { partition } } : {}) });
  const connection = ldap;
  return {
    directory,
    ldap,
    slapd,
    async close() {
      await connection.close();
      await slapd?.stop();
    },
  };
}
