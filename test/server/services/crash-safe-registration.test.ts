/**
 * Crash safety of account creation: a child process registering an account is killed with
 * SIGKILL right after each LDAP write of the registration in turn (test/support/crash-register-worker.ts
 * counts the writes and kills itself at write N; no timing involved). After each kill: no account is
 * usable without its private group, nothing half-made is active, and the same certificate's next
 * attempt succeeds, with the same username or another one.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { checkDirectory, Directory } from '../../../core/directory/index.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import type { ServiceContext } from '../../../server/services/context.js';
import { accountForLogin, parseRegistration, register } from '../../../server/services/accounts.js';
import { useManagedSlapd } from '../../support/slapd.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('../../support/crash-register-worker.ts', import.meta.url));
const ranges = rangesConfigSchema.parse({});
const POLICY = 'aup-test';
const cert = (cn: string) => ({ type: 'x509' as const, subject: `/DC=org/DC=example/CN=${cn}`, issuer: '/DC=org/DC=example/CN=Test CA' });
const form = (username: string) => parseRegistration({ username, displayName: `User ${username}`, email: `${username}@example.org`, acceptPolicy: POLICY }, POLICY);

describe('server/services/accounts: registration killed at every LDAP write (real slapd, SIGKILL)', function () {
  this.timeout(120000);
  const fx = useManagedSlapd();
  let ctx: ServiceContext;
  before(() => {
    ctx = { directory: new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges }), audit: { append: () => undefined } };
  });

  const child = (username: string, cn: string, crashAt: number) =>
    run(process.execPath, ['--import', 'tsx', worker], {
      env: {
        ...process.env,
        CG_WORKER: JSON.stringify({ url: fx.slapd.url, bindDn: fx.slapd.portal.dn, password: fx.slapd.portal.password, baseDn: fx.slapd.baseDn, ranges, username, subject: cert(cn).subject, crashAt }),
      },
      timeout: 30000,
    }).then(
      (out) => ({ killed: false, writes: (JSON.parse(out.stdout) as { writes: number }).writes }),
      (err: { signal?: string; stderr?: string }) => {
        if (err.signal !== 'SIGKILL') throw new Error(`worker failed: ${err.stderr ?? String(err)}`);
        return { killed: true, writes: crashAt };
      },
    );

  /** Every active account has its private group with its gidNumber and memberUid; nothing else is active. */
  async function expectWhole(): Promise<void> {
    const people = await fx.admin.search(`ou=people,${fx.slapd.baseDn}`, { scope: 'one', filter: '(objectClass=posixAccount)', attributes: ['uid', 'gidNumber', 'voPersonStatus'] });
    for (const p of people) {
      const status = (p.get('voPersonStatus') ?? 'active').toLowerCase();
      if (status !== 'active') continue;
      const uid = p.get('uid')!;
      const group = await fx.admin.read(`cn=${uid},ou=groups,${fx.slapd.baseDn}`, ['gidNumber', 'memberUid']);
      expect(group, `private group of active ${uid}`).to.not.equal(undefined);
      expect(group!.get('gidNumber')).to.equal(p.get('gidNumber'));
      expect(group!.getAll('memberUid')).to.include(uid);
    }
  }

  let total = 0;
  it('counts the LDAP writes of one registration (counters, person, group, identity, activation)', async () => {
    const r = await child('counted', 'Counted', 0);
    expect(r.killed).to.equal(false);
    total = r.writes;
    expect(total).to.be.at.least(6);
    expect((await accountForLogin(ctx, cert('Counted')))!.username).to.equal('counted');
  });

  it('after a kill at each write, the same certificate registers again under the same username (or already has its account)', async () => {
    const uids = new Set<number>();
    for (let n = 1; n <= total; n++) {
      const username = `same${n}`;
      const r = await child(username, `Same ${n}`, n);
      expect(r.killed, `killed at write ${n}`).to.equal(true);
      await expectWhole();
      let person = await accountForLogin(ctx, cert(`Same ${n}`));
      if (n < total) expect(person, `no usable account after a kill at write ${n}`).to.equal(undefined);
      if (!person) person = await register(ctx, { isAdmin: false, identity: 'x', ip: '127.0.0.1' }, cert(`Same ${n}`), form(username));
      expect(person.username).to.equal(username);
      expect(person.status).to.equal('active');
      expect((await accountForLogin(ctx, cert(`Same ${n}`)))!.username).to.equal(username);
      expect(uids.has(person.uidNumber)).to.equal(false);
      uids.add(person.uidNumber);
      await expectWhole();
      expect(await fx.admin.search(`ou=people,${fx.slapd.baseDn}`, { scope: 'one', filter: '(|(voPersonStatus=pending)(voPersonStatus=deleted))', attributes: ['1.1'] })).to.have.length(0);
      expect(await checkDirectory(ctx.directory, { pendingMaxAgeMs: 0 }), `doctor after the next attempt (kill at write ${n})`).to.deep.equal([]);
    }
  });

  it('after a kill at each write, the same certificate may choose another username: the half-made account is undone', async () => {
    for (let n = 1; n < total; n++) {
      const r = await child(`first${n}`, `Other ${n}`, n);
      expect(r.killed).to.equal(true);
      const person = await register(ctx, { isAdmin: false, identity: 'x', ip: '127.0.0.1' }, cert(`Other ${n}`), form(`second${n}`));
      expect(person.username).to.equal(`second${n}`);
      expect(await ctx.directory.people.get(`first${n}`)).to.equal(undefined);
      expect(await fx.admin.read(`cn=first${n},ou=groups,${fx.slapd.baseDn}`, ['1.1'])).to.equal(undefined);
      await expectWhole();
      expect(await checkDirectory(ctx.directory, { pendingMaxAgeMs: 0 })).to.deep.equal([]);
    }
    // the name of an undone half-made account was never usable: it is free again
    const again = await register(ctx, { isAdmin: false, identity: 'x', ip: '127.0.0.1' }, cert('Newcomer'), form('first1'));
    expect(again.username).to.equal('first1');
  });

  it('a half-made account is never mapped or usable by NSS, and another certificate cannot take it over', async () => {
    const r = await child('halfway', 'Halfway', total - 1); // identity bound, not yet active
    expect(r.killed).to.equal(true);
    expect(await fx.nss.read(`uid=halfway,ou=people,${fx.slapd.baseDn}`, ['uidNumber'])).to.satisfy((e: unknown) => e === undefined || !(e as { has(n: string): boolean }).has('uidNumber'));
    const taken = await register(ctx, { isAdmin: false, identity: 'x', ip: '127.0.0.1' }, cert('Intruder'), form('halfway')).catch((e: unknown) => e);
    expect(taken).to.be.instanceOf(Error).with.property('message').that.matches(/taken/);
    expect((await register(ctx, { isAdmin: false, identity: 'x', ip: '127.0.0.1' }, cert('Halfway'), form('halfway'))).status).to.equal('active');
  });
});
