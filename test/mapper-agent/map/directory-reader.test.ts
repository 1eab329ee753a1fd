import { expect } from 'chai';
import { DirectoryUnavailableError } from '../../../core/errors.js';
import { LdapConnection } from '../../../core/ldap/connection.js';
import { readDirectory } from '../../../mapper-agent/map/directory-reader.js';

describe('mapper-agent/map/directory-reader', () => {
  it('a directory that cannot be reached: DirectoryUnavailableError, and nothing left to reject later (the agent exits 3, not on an unhandled rejection)', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => void unhandled.push(reason);
    const before = process.listeners('unhandledRejection');
    process.removeAllListeners('unhandledRejection');
    process.on('unhandledRejection', record);
    try {
      const ldap = new LdapConnection({ url: 'ldap://127.0.0.1:9', bindDn: 'cn=x', password: 'x', connectTimeoutMs: 1000 });
      const err = await readDirectory(ldap, 'dc=example').catch((e: unknown) => e);
      expect(err).to.be.instanceOf(DirectoryUnavailableError);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.removeListener('unhandledRejection', record);
      for (const l of before) process.on('unhandledRejection', l);
    }
  });
});
