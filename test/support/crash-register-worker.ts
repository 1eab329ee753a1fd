/**
 * Child process for the crash-safety test: registers one account through the portal's service
 * (server/services/accounts.ts register) against the slapd given in CG_WORKER (JSON), and kills
 * itself with SIGKILL right after its LDAP write number `crashAt` (add, modify or delete) has
 * been answered: the process dies between two LDAP operations, exactly at the point chosen, with
 * no sleeps. crashAt 0: no crash; prints {"writes": N}, the number of writes a registration makes.
 */
import { LdapConnection, type AttributeMap, type Modification } from '../../core/ldap/connection.js';
import { Directory } from '../../core/directory/directory.js';
import { parseRegistration, register } from '../../server/services/accounts.js';

interface WorkerInput {
  url: string;
  bindDn: string;
  password: string;
  baseDn: string;
  ranges: { uid: { min: number; max: number }; gid: { min: number; max: number } };
  username: string;
  subject: string;
  crashAt: number;
}

const input = JSON.parse(process.env.CG_WORKER ?? '{}') as WorkerInput;

class CrashingConnection extends LdapConnection {
  writes = 0;
  private after(): void {
    this.writes++;
    if (this.writes === input.crashAt) process.kill(process.pid, 'SIGKILL');
  }
  override async add(dn: string, attributes: AttributeMap): Promise<void> {
    await super.add(dn, attributes);
    this.after();
  }
  override async modify(dn: string, mods: Modification[]): Promise<void> {
    await super.modify(dn, mods);
    this.after();
  }
  override async delete(dn: string): Promise<void> {
    await super.delete(dn);
    this.after();
  }
}

const ldap = new CrashingConnection({ url: input.url, bindDn: input.bindDn, password: input.password });
const directory = new Directory({ ldap, baseDn: input.baseDn, ranges: input.ranges });
const POLICY = 'aup-test';
try {
  await register(
    { directory, audit: { append: () => undefined } },
    { isAdmin: false, identity: input.subject, ip: '127.0.0.1' },
    { type: 'x509', subject: input.subject, issuer: '/DC=org/DC=example/CN=Test CA' },
    parseRegistration({ username: input.username, displayName: `User ${input.username}`, email: `${input.username}@example.org`, acceptPolicy: POLICY }, POLICY),
  );
  process.stdout.write(JSON.stringify({ writes: ldap.writes }));
} finally {
  await ldap.close();
}
