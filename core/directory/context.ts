import type { LdapConnection } from '../ldap/connection.js';
import type { NumberAllocator } from './allocation.js';
import type { DirectoryLayout } from './layout.js';

/** What every store needs: the connection, where things live, and the number allocator. */
export interface DirectoryContext {
  ldap: LdapConnection;
  layout: DirectoryLayout;
  allocator: NumberAllocator;
  /** homeDirectory = <homeBase>/<username> (default /home). */
  homeBase: string;
  defaultLoginShell: string;
}
