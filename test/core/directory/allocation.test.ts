import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Directory } from '../../../core/directory/directory.js';
import { ConflictError, RangeExhaustedError } from '../../../core/errors.js';
import { useManagedSlapd } from '../../support/slapd.js';

const run = promisify(execFile);
const ranges = { uid: { min: 20000, max: 20099 }, gid: { min: 30000, max: 30199 } };
const worker = fileURLToPath(new URL('../../support/register-worker.ts', import.meta.url));

describe('core/directory/allocation (real slapd)', function () {
  this.timeout(30000);
  const fx = useManagedSlapd({ ranges });
  const directory = () => new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges });

  it('gives 50 concurrent registrations from 2 processes 50 distinct UIDs and GIDs', async () => {
    const spawnWorker = (prefix: string) =>
      run(process.execPath, ['--import', 'tsx', worker], {
        env: {
          ...process.env,
          CG_WORKER: JSON.stringify({ url: fx.slapd.url, ...{ bindDn: fx.slapd.portal.dn, password: fx.slapd.portal.password }, baseDn: fx.slapd.baseDn, ranges, prefix, count: 25 }),
        },
        timeout: 25000,
      });
    const outs = await Promise.all([spawnWorker('pa'), spawnWorker('pb')]);
    const made = outs.flatMap((o) => JSON.parse(o.stdout) as { username: string; uidNumber: number; gidNumber: number }[]);
    expect(made).to.have.length(50);
    const uids = new Set(made.map((m) => m.uidNumber));
    const gids = new Set(made.map((m) => m.gidNumber));
    expect(uids.size).to.equal(50);
    expect(gids.size).to.equal(50);
    for (const u of uids) expect(u).to.be.within(ranges.uid.min, ranges.uid.max);
    // and the directory agrees: 50 people, no shared uidNumber
    const people = await directory().people.search('', 1000);
    expect(new Set(people.map((p) => p.uidNumber)).size).to.equal(people.length);
    expect(people.length).to.equal(50);
  });

  it('skips numbers already used by imported entries', async () => {
    const dir = directory();
    const next = await dir.allocator.peek('uid');
    // an account imported with its own number, sitting exactly where the counter points
    await fx.portal.add(`uid=imported,ou=people,${fx.slapd.baseDn}`, {
      objectClass: ['inetOrgPerson', 'posixAccount'],
      uid: 'imported', cn: 'Imported', sn: 'Imported',
      uidNumber: String(next), gidNumber: '100', homeDirectory: '/home/imported',
    });
    const got = await dir.allocator.allocate('uid');
    expect(got).to.equal(next + 1);
  });

  it('never hands out a deleted account\'s UID or username again', async () => {
    const dir = directory();
    const victim = await dir.people.create({ username: 'victim', cn: 'Vic Tim' });
    await dir.deletePerson('victim');
    expect(await dir.people.get('victim')).to.equal(undefined);
    const tomb = await fx.admin.read(`uid=victim,ou=tombstones,${fx.slapd.baseDn}`, ['uidNumber', 'gidNumber']);
    expect(tomb?.getInt('uidNumber')).to.equal(victim.uidNumber);
    const after = await dir.people.create({ username: 'successor' });
    expect(after.uidNumber).to.be.greaterThan(victim.uidNumber);
    expect(after.gidNumber).to.not.equal(victim.gidNumber);
    let err: unknown;
    try {
      await dir.people.create({ username: 'victim' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConflictError);
    expect((err as Error).message).to.match(/never reused/);
  });

  it('throws RangeExhaustedError when the range is used up, and the counter stays put', async () => {
    const tiny = { uid: { min: 1, max: 1000000 }, gid: ranges.gid };
    const dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: tiny });
    const next = await dir.allocator.peek('uid');
    const capped = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: { uid: { min: 1, max: next }, gid: ranges.gid } });
    expect(await capped.allocator.allocate('uid')).to.equal(next);
    let err: unknown;
    try {
      await capped.allocator.allocate('uid');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(RangeExhaustedError);
    expect((err as Error).message).to.match(/uidNumber range 1-\d+ is used up/);
    let err2: unknown;
    try {
      await capped.people.create({ username: 'toomany' });
    } catch (e) {
      err2 = e;
    }
    expect(err2).to.be.instanceOf(RangeExhaustedError);
    expect(await capped.people.get('toomany')).to.equal(undefined);
  });

  it('recreates a missing counter at the range start', async () => {
    const dir = directory();
    await fx.admin.delete(`cn=gidNumber,ou=allocation,${fx.slapd.baseDn}`);
    const other = { uid: ranges.uid, gid: { min: 40000, max: 40010 } };
    const d2 = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: other });
    expect(await d2.allocator.allocate('gid')).to.equal(40000);
    expect(await dir.allocator.peek('gid')).to.equal(40001);
  });
});
