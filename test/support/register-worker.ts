/**
 * Child process for the multi-process allocation test: registers `count` people concurrently
 * against the slapd given in CG_WORKER (JSON) and prints their uidNumbers as JSON on stdout.
 */
import { LdapConnection } from '../../core/ldap/connection.js';
import { Directory } from '../../core/directory/directory.js';

interface WorkerInput {
  url: string;
  bindDn: string;
  password: string;
  baseDn: string;
  ranges: { uid: { min: number; max: number }; gid: { min: number; max: number } };
  prefix: string;
  count: number;
}

const input = JSON.parse(process.env.CG_WORKER ?? '{}') as WorkerInput;
const ldap = new LdapConnection({ url: input.url, bindDn: input.bindDn, password: input.password });
const dir = new Directory({ ldap, baseDn: input.baseDn, ranges: input.ranges });
try {
  const people = await Promise.all(
    Array.from({ length: input.count }, (_, i) => dir.people.create({ username: `${input.prefix}${i}`, cn: `Worker ${input.prefix} ${i}` })),
  );
  process.stdout.write(JSON.stringify(people.map((p) => ({ username: p.username, uidNumber: p.uidNumber, gidNumber: p.gidNumber }))));
} finally {
  await ldap.close();
}
