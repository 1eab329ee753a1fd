/**
 * Two providers in multi-provider (mirror) mode, real slapd processes replicating both ways.
 * Registrations sent to both at once: with per-writer number partitions (allocation.ts
 * `partition`) no UID or GID is handed out twice. Claims of a name (username, identity, campaign)
 * still need a single writer (docs/replication.md).
 */
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { Directory, readContextCsn } from '../../../core/directory/index.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import type { LdapConnection } from '../../../core/ldap/connection.js';
import { useMultiProvider } from '../../support/replication.js';

const ranges = rangesConfigSchema.parse({});

async function converged(a: LdapConnection, b: LdapConnection, base: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let stable = 0;
  while (Date.now() < deadline) {
    const [x, y] = await Promise.all([readContextCsn(a, base), readContextCsn(b, base)]);
    const [na, nb] = await Promise.all([a.search(base, { scope: 'sub', attributes: ['1.1'] }), b.search(base, { scope: 'sub', attributes: ['1.1'] })]);
    stable = x === y && na.length === nb.length ? stable + 1 : 0;
    if (stable >= 3) return;
    await sleep(200);
  }
  throw new Error('the providers did not converge');
}

describe('multi-provider: 2 providers in mirror mode (real slapd)', function () {
  this.timeout(90000);
  const mmr = useMultiProvider();
  const conns: LdapConnection[] = [];
  after(async () => {
    for (const c of conns) await c.close();
  });

  it('replicates both ways', async () => {
    const [p1, p2] = mmr.get().providers;
    const a = p1!.connect('portal');
    const b = p2!.connect('portal');
    conns.push(a, b);
    await converged(a, b, p1!.baseDn);
    const d2 = new Directory({ ldap: b, baseDn: p2!.baseDn, ranges, allocator: { partition: { index: 1, count: 2 } } });
    await d2.people.create({ username: 'fromtwo' });
    await converged(a, b, p1!.baseDn);
    expect(await a.read(`uid=fromtwo,ou=people,${p1!.baseDn}`, ['1.1'])).to.not.equal(undefined);
  });

  it('registrations sent to both providers at once: 0 duplicate UIDs and GIDs (per-writer partitions)', async () => {
    const [p1, p2] = mmr.get().providers;
    const a = p1!.connect('portal');
    const b = p2!.connect('portal');
    conns.push(a, b);
    const d1 = new Directory({ ldap: a, baseDn: p1!.baseDn, ranges, allocator: { partition: { index: 0, count: 2 } } });
    const d2 = new Directory({ ldap: b, baseDn: p2!.baseDn, ranges, allocator: { partition: { index: 1, count: 2 } } });
    const made = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => d1.people.create({ username: `one${i}` })),
      ...Array.from({ length: 30 }, (_, i) => d2.people.create({ username: `two${i}` })),
      d1.campaigns.create({ name: 'camp1', pi: 'fromtwo' }),
      d2.campaigns.create({ name: 'camp2', pi: 'fromtwo' }),
    ]);
    expect(made).to.have.length(62);
    await converged(a, b, p1!.baseDn);
    for (const conn of [a, b]) {
      const people = await conn.search(`ou=people,${p1!.baseDn}`, { scope: 'one', filter: '(objectClass=posixAccount)', attributes: ['uidNumber', 'gidNumber'] });
      const groups = await conn.search(p1!.baseDn, { scope: 'sub', filter: '(objectClass=posixGroup)', attributes: ['gidNumber'] });
      expect(people).to.have.length(61);
      expect(new Set(people.map((p) => p.get('uidNumber'))).size).to.equal(61);
      expect(new Set(groups.map((g) => g.get('gidNumber'))).size).to.equal(groups.length);
      expect(groups).to.have.length(63);
    }
    // writer 0 hands out even offsets, writer 1 odd ones
    const one = (await d1.people.get('one0'))!;
    const two = (await d2.people.get('two0'))!;
    expect((one.uidNumber - ranges.uid.min) % 2).to.equal(0);
    expect((two.uidNumber - ranges.uid.min) % 2).to.equal(1);
  });
});
