export { LdapConnection, type LdapConnectionOptions, type SearchParams, type Modification, type AttributeMap, type Scope } from './connection.js';
export { LdapEntry } from './entry.js';
export { escapeFilterValue, escapeDnValue, filter, childDn, firstRdnValue } from './escape.js';
export { translateLdapError, ldapResultCode, LdapResult } from './errors.js';
export {
  ldapConfigSchema, rangesConfigSchema, directoryConfigSchema, resolveLdapPassword, DEFAULT_BASE_DN,
  type LdapConfig, type RangesConfig, type NumberRange, type DirectoryConfig,
} from './config.js';
export { startManagedSlapd, freeLoopbackPort, accessControl, type ManagedSlapd, type ManagedSlapdOptions, type ManagedAccount, type Credentials } from './managed-slapd.js';
export { bootstrapTree, bootstrapEntries, bootstrapLdif, OUS, ouDn, serviceDn, PORTAL_SERVICE, AGENT_SERVICE, NSS_SERVICE, type ServicePasswords } from './bootstrap.js';
export { Semaphore } from './semaphore.js';
