import { expect } from 'chai';
import { createServer, type AddressInfo } from 'node:net';
import { DirectoryUnavailableError } from '../../../core/errors.js';
import { PagedReader } from '../../../core/ldap/paged-reader.js';
import { useManagedSlapd } from '../../support/slapd.js';

describe('core/ldap/paged-reader (real slapd)', function () {
  this.timeout(20000);
  const fx = useManagedSlapd();
  // The rootdn: paging and attribute selection are under test here, not the service accounts' ACLs
  // (test/core/ldap/nss-access.test.ts shows what the agent's account may read).
  const reader = (password = fx.slapd.admin.password) => new PagedReader({ url: fx.slapd.url, bindDn: fx.slapd.admin.dn, password, timeoutMs: 5000 });

  before(async () => {
    for (let i = 0; i < 23; i++) {
      await fx.admin.add(`uid=u${i},ou=people,${fx.slapd.baseDn}`, {
        objectClass: ['top', 'person', 'inetOrgPerson', 'posixAccount'], uid: `u${i}`, cn: `Ünïcode ${i}`, sn: 's', uidNumber: String(1000 + i), gidNumber: '1', homeDirectory: `/h/${i}`, description: ['a', 'b'],
      });
    }
  });

  it('streams every entry over several pages, with only the requested attributes under lower-case names', async () => {
    const r = reader();
    await r.open();
    const seen = new Map<string, Map<string, string[]>>();
    try {
      const count = await r.search({ base: `ou=people,${fx.slapd.baseDn}`, scope: 'one', equality: ['objectClass', 'posixAccount'], attributes: ['uid', 'CN', 'description', 'mail'], pageSize: 5 }, (dn, attrs) => void seen.set(dn, attrs));
      expect(count).to.equal(23);
    } finally {
      await r.close();
    }
    expect(seen.size).to.equal(23);
    const u7 = seen.get(`uid=u7,ou=people,${fx.slapd.baseDn}`)!;
    expect([...u7.keys()].sort()).to.deep.equal(['cn', 'description', 'uid']);
    expect(u7.get('cn')).to.deep.equal(['Ünïcode 7']);
    expect(u7.get('description')).to.deep.equal(['a', 'b']);
  });

  it('reads ahead: entries wait undecoded until the caller is ready, then come in order; a paused socket does not time out', async () => {
    const people = { base: `ou=people,${fx.slapd.baseDn}`, scope: 'one' as const, equality: ['objectClass', 'posixAccount'] as [string, string], attributes: ['uid'], pageSize: 5 };
    const plain = reader();
    await plain.open();
    const expected: string[] = [];
    await plain.search(people, (dn) => void expected.push(dn)).finally(() => plain.close());
    expect(expected).to.have.length(23);
    // Kept whole (the whole answer fits), and kept past the first entry (paused there, for longer than the idle timeout).
    for (const maxBytes of [1 << 20, 1]) {
      // An idle timeout that one slow answer on a loaded machine does not reach, and a pause well past it.
      const r = new PagedReader({ url: fx.slapd.url, bindDn: fx.slapd.admin.dn, password: fx.slapd.admin.password, timeoutMs: 1000 });
      await r.open();
      let ready!: () => void;
      const seen: string[] = [];
      try {
        const search = r.search(people, (dn) => void seen.push(dn), { until: new Promise<void>((resolve) => (ready = resolve)), maxBytes });
        await new Promise((resolve) => setTimeout(resolve, 2500));
        expect(seen, 'nothing visited before the caller is ready').to.deep.equal([]);
        ready();
        expect(await search).to.equal(23);
        expect(seen).to.deep.equal(expected);
      } finally {
        await r.close();
      }
    }
  });

  it('reads ahead: a caller that gives up, or a visit that throws, ends the search with that error', async () => {
    const people = { base: `ou=people,${fx.slapd.baseDn}`, scope: 'one' as const, equality: ['objectClass', 'posixAccount'] as [string, string], attributes: ['uid'], pageSize: 5 };
    const r = reader();
    await r.open();
    const refused = await r.search(people, () => undefined, { until: Promise.reject(new Error('people unreadable')), maxBytes: 1 }).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(DirectoryUnavailableError).with.property('message', 'people unreadable');
    await r.close();
    const s = reader();
    await s.open();
    const boom = new Error('visitor');
    try {
      const thrown = await s.search(people, () => {
        throw boom;
      }, { until: Promise.resolve(), maxBytes: 1 << 20 }).catch((e: unknown) => e);
      expect(thrown).to.equal(boom);
    } finally {
      await s.close();
    }
  });

  it('fails the whole search with DirectoryUnavailableError: wrong credentials, missing base, nothing listening', async () => {
    const bad = reader('wrong');
    expect(await bad.open().catch((e: unknown) => e)).to.be.instanceOf(DirectoryUnavailableError).with.property('message').that.matches(/bind failed: LDAP result 49/);
    await bad.close();
    const r = reader();
    await r.open();
    try {
      const err = await r.search({ base: `ou=nowhere,${fx.slapd.baseDn}`, scope: 'one', equality: ['objectClass', 'top'], attributes: ['uid'], pageSize: 5 }, () => undefined).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(DirectoryUnavailableError).with.property('message').that.matches(/LDAP result 32/);
    } finally {
      await r.close();
    }
    const dead = new PagedReader({ url: 'ldap://127.0.0.1:9', bindDn: 'cn=x', password: 'x', timeoutMs: 1000 });
    const refused = await dead.open().catch((e: unknown) => e) as DirectoryUnavailableError;
    expect(refused).to.be.instanceOf(DirectoryUnavailableError).with.property('message').that.matches(/cannot connect/);
    expect((refused.cause as { code?: string }).code).to.equal('ECONNREFUSED');
  });

  it('reads messages cut anywhere by the arrival of the bytes (a server sending a few bytes at a time)', async () => {
    const tlv = (tag: number, content: Buffer): Buffer => {
      const n = content.length;
      const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
      return Buffer.concat([Buffer.from([tag, ...len]), content]);
    };
    const str = (v: string) => tlv(0x04, Buffer.from(v, 'utf8'));
    const msg = (id: number, op: Buffer) => tlv(0x30, Buffer.concat([tlv(0x02, Buffer.from([id])), op]));
    const done = (op: number) => tlv(op, Buffer.concat([tlv(0x0a, Buffer.from([0])), str(''), str('')]));
    const values = ['a', 'bé', 'x'.repeat(300), 'ü'.repeat(40), 'z'];
    const answer = Buffer.concat([
      ...values.map((v, i) => msg(2, tlv(0x64, Buffer.concat([str(`uid=u${i},ou=people,dc=x`), tlv(0x30, tlv(0x30, Buffer.concat([str('UID'), tlv(0x31, str(v))])))])))),
      msg(2, done(0x65)),
    ]);
    for (const piece of [1, 2, 3, 5, 7, 64, 1 << 20]) {
      const server = createServer((socket) => {
        let seen = 0;
        socket.on('data', async () => {
          seen++;
          if (seen === 1) return void socket.write(msg(1, done(0x61)));
          if (seen !== 2) return;
          for (let at = 0; at < answer.length; at += piece) {
            socket.write(answer.subarray(at, at + piece));
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const r = new PagedReader({ url: `ldap://127.0.0.1:${(server.address() as AddressInfo).port}`, bindDn: 'cn=x', password: 'x', timeoutMs: 5000 });
      const seen: string[] = [];
      try {
        await r.open();
        const count = await r.search({ base: 'ou=people,dc=x', scope: 'one', equality: ['objectClass', 'posixAccount'], attributes: ['uid'], pageSize: 1000 }, (dn, a) => void seen.push(`${dn} ${a.get('uid')!.join()}`));
        expect(count, `pieces of ${piece}`).to.equal(values.length);
        expect(seen).to.deep.equal(values.map((v, i) => `uid=u${i},ou=people,dc=x ${v}`));
      } finally {
        await r.close();
        server.close();
      }
    }
  });
});
