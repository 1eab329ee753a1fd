/**
 * Two providers in multi-provider (mirror) mode, real slapd processes replicating both ways.
 * Numbers: per-writer partitions (allocation.ts `partition`) never hand out one UID or GID twice,
 * whatever each provider accepts. Names (usernames, identities, campaign names) are claimed only at
 * the designated writer (allocator.assertDesignatedWriter): registrations sent to both providers at once
 * leave 0 duplicate numbers and 0 doubly-owned identities; so are compare-and-swap decisions (a
 * membership request decided at both at once is decided once). One provider stopped: the other serves;
 * when it returns, both converge.
 */
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { Directory, identityKey, readContextCsn } from '../../../core/directory/index.js';
import { ConflictError } from '../../../core/errors.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import type { LdapConnection } from '../../../core/ldap/connection.js';
import { parseRegistration, register } from '../../../server/services/accounts.js';
import type { ServiceContext } from '../../../server/services/context.js';
import { rejection } from '../../support/rejection.js';
import { useMultiProvider } from '../../support/replication.js';

const ranges = rangesConfigSchema.parse({});
const POLICY = 'aup';
const cert = (cn: string) => ({ type: 'x509' as const, subject: `/DC=org/DC=example/CN=${cn}` });
const form = (u: string) => parseRegistration({ username: u, displayName: u, email: `${u}@example.org`, acceptPolicy: POLICY }, POLICY);
const actor = { isAdmin: false, identity: 'x', ip: '127.0.0.1' };

async function converged(a: LdapConnection, b: LdapConnection, base: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let stable = 0;
  while (Date.now() < deadline) {
    const ok = await Promise.all([readContextCsn(a, base), readContextCsn(b, base), a.search(base, { scope: 'sub', attributes: ['1.1'] }), b.search(base, { scope: 'sub', attributes: ['1.1'] })])
      .then(([x, y, na, nb]) => x === y && na.length === nb.length, () => false);
    stable = ok ? stable + 1 : 0;
    if (stable >= 3) return;
    await sleep(200);
  }
  throw new Error('the providers did not converge');
}

describe('multi-provider: 2 providers in mirror mode (real slapd)', function () {
  this.timeout(90000);
  const mmr = useMultiProvider();
  let a: LdapConnection;
  let b: LdapConnection;
  let d1: Directory;
  let d2: Directory;
  let base: string;
  before(async () => {
    const [p1, p2] = mmr.get().providers;
    base = p1!.baseDn;
    a = p1!.connect('portal');
    b = p2!.connect('portal', { connectTimeoutMs: 1000 });
    d1 = new Directory({ ldap: a, baseDn: base, ranges, allocator: { partition: { index: 0, count: 2 } } });
    d2 = new Directory({ ldap: b, baseDn: base, ranges, allocator: { partition: { index: 1, count: 2 } } });
    await converged(a, b, base);
    await d1.allocator.designateNameWriter(0); // an administrator's decision
    await converged(a, b, base);
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  it('replicates both ways', async () => {
    await d1.people.create({ username: 'fromone' });
    await converged(a, b, base);
    await d2.people.update('fromone', { displayName: 'Changed at provider 2' });
    await converged(a, b, base);
    expect((await d1.people.get('fromone'))!.displayName).to.equal('Changed at provider 2');
  });

  it('numbers allocated at both providers at once never collide (interleaved partitions)', async () => {
    const got = await Promise.all([
      ...Array.from({ length: 40 }, () => d1.allocator.allocate('uid')),
      ...Array.from({ length: 40 }, () => d2.allocator.allocate('uid')),
      ...Array.from({ length: 40 }, () => d1.allocator.allocate('gid').then((n) => -n)),
      ...Array.from({ length: 40 }, () => d2.allocator.allocate('gid').then((n) => -n)),
    ]);
    expect(new Set(got).size).to.equal(160);
    expect(got.slice(0, 40).every((n) => (n - ranges.uid.min) % 2 === 0)).to.equal(true);
    expect(got.slice(40, 80).every((n) => (n - ranges.uid.min) % 2 === 1)).to.equal(true);
  });

  it('registrations sent to both at once: 0 duplicate UIDs/GIDs, 0 doubly-owned identities (names only at the designated writer)', async () => {
    const ctx1: ServiceContext = { directory: d1, audit: { append: () => undefined } };
    const ctx2: ServiceContext = { directory: d2, audit: { append: () => undefined } };
    const n = 15;
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) => [register(ctx1, actor, cert(`Both ${i}`), form(`viaone${i}`)), register(ctx2, actor, cert(`Both ${i}`), form(`viatwo${i}`))]).flat(),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).to.have.length(n);
    for (const r of results.filter((x) => x.status === 'rejected')) expect((r as PromiseRejectedResult).reason).to.be.instanceOf(ConflictError).with.property('message').that.matches(/designated writer|already bound/);
    await converged(a, b, base);
    for (const conn of [a, b]) {
      const people = await conn.search(`ou=people,${base}`, { scope: 'one', filter: '(objectClass=posixAccount)', attributes: ['uid', 'uidNumber', 'voPersonStatus'] });
      expect(new Set(people.map((p) => p.get('uidNumber'))).size).to.equal(people.length);
      expect(people.filter((p) => (p.get('voPersonStatus') ?? '').toLowerCase() !== 'active')).to.deep.equal([]);
      const groups = await conn.search(base, { scope: 'sub', filter: '(objectClass=posixGroup)', attributes: ['gidNumber'] });
      expect(new Set(groups.map((g) => g.get('gidNumber'))).size).to.equal(groups.length);
      for (let i = 0; i < n; i++) {
        const id = await conn.read(`cgIdentityKey=${identityKey(cert(`Both ${i}`))},ou=identities,${base}`, ['cgOwner']);
        const owners = people.filter((p) => id?.get('cgOwner') === `uid=${p.get('uid')},ou=people,${base}`);
        expect(owners, `owner of Both ${i}`).to.have.length(1);
        expect(people.some((p) => p.get('uid') === `viatwo${i}`)).to.equal(false);
      }
    }
  });

  it('a membership request decided at both providers at once is decided once, at the designated writer; so is a withdrawal', async () => {
    await d1.people.create({ username: 'mppi' });
    await d1.people.create({ username: 'mpreq' });
    await d1.campaigns.create({ name: 'mpc', pi: 'mppi', embargoEnd: new Date('2030-01-01T00:00:00Z') });
    const first = await d1.requests.create({ requester: 'mpreq', campaign: 'mpc' });
    await converged(a, b, base);
    // Each provider's swap out of 'pending' is atomic on that server only: both would succeed, and
    // replication would keep a denial on record beside the member an approval added.
    const [approve, deny] = await Promise.allSettled([
      d1.requests.decide(first.id, { decision: 'approved', decidedBy: 'mppi' }),
      d2.requests.decide(first.id, { decision: 'denied', decidedBy: 'mppi' }),
    ]);
    expect(approve.status).to.equal('fulfilled');
    expect(deny.status).to.equal('rejected');
    expect((deny as PromiseRejectedResult).reason).to.be.instanceOf(ConflictError).with.property('message').that.matches(/designated writer/);
    await converged(a, b, base);
    for (const d of [d1, d2]) {
      expect((await d.requests.get(first.id))!.state).to.equal('approved');
      expect((await d.campaigns.require('mpc')).members).to.include('mpreq');
    }

    await d1.people.create({ username: 'mpother' });
    const second = await d1.requests.create({ requester: 'mpother', campaign: 'mpc' });
    await converged(a, b, base);
    expect(await rejection(d2.requests.withdraw(second.id, 'mpother'))).to.be.instanceOf(ConflictError).with.property('message').that.matches(/designated writer/);
    await d1.requests.withdraw(second.id, 'mpother');
    await converged(a, b, base);
    expect(await d2.requests.get(second.id)).to.equal(undefined);
  });

  it('a half-made account is undone at the designated writer only (doctor --fix elsewhere is refused)', async () => {
    const admin = mmr.get().providers[0]!.connect('admin');
    try {
      await admin.add(`uid=halfmp,ou=people,${base}`, { objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'posixAccount', 'cgPerson'], uid: 'halfmp', cn: 'H', sn: 'H', uidNumber: '19960', gidNumber: '59960', homeDirectory: '/home/halfmp', voPersonStatus: 'pending' });
    } finally {
      await admin.close();
    }
    await converged(a, b, base);
    expect(await rejection(d2.people.abandon('halfmp'))).to.be.instanceOf(ConflictError).with.property('message').that.matches(/designated writer/);
    expect(await d1.people.abandon('halfmp')).to.equal(true);
    await converged(a, b, base);
    expect(await b.read(`uid=halfmp,ou=people,${base}`, ['1.1'])).to.equal(undefined);
  });

  it('one provider stopped: the other keeps serving; when it returns, both converge', async () => {
    const t = mmr.get();
    await t.stop(1);
    for (let i = 0; i < 5; i++) await d1.people.create({ username: `whileaway${i}` });
    await d1.people.update('fromone', { displayName: 'Changed while provider 2 was away' });
    await t.start(1);
    await converged(a, b, base);
    expect(await b.read(`uid=whileaway4,ou=people,${base}`, ['1.1'])).to.not.equal(undefined);
    expect((await d2.people.get('fromone'))!.displayName).to.equal('Changed while provider 2 was away');
  });
});
