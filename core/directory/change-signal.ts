import type { LdapConnection } from '../ldap/connection.js';
import { DirectoryUnavailableError } from '../errors.js';

/**
 * The suffix's contextCSN (maintained by the syncprov overlay): changes on every write anywhere
 * in the tree. Multi-master setups carry one value per server id; the values are returned
 * sorted and joined with spaces, so any change of any value changes the string.
 */
export async function readContextCsn(ldap: LdapConnection, baseDn: string): Promise<string> {
  const entry = await ldap.read(baseDn, ['contextCSN']);
  const values = entry?.getAll('contextCSN') ?? [];
  if (!values.length) throw new DirectoryUnavailableError(`no contextCSN on ${baseDn}: is the syncprov overlay configured?`);
  return [...values].sort().join(' ');
}
