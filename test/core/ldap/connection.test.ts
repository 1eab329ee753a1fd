import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { LdapConnection } from '../../../core/ldap/connection.js';
import { ldapResultCode, translateLdapError } from '../../../core/ldap/errors.js';
import { freeLoopbackPort, startManagedSlapd } from '../../../core/ldap/managed-slapd.js';
import { ConflictError, DirectoryUnavailableError, ForbiddenError, NotFoundError, ValidationError } from '../../../core/errors.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { rejection } from '../../support/rejection.js';
import { stopProcess } from '../../support/stop-process.js';

describe('core/ldap/connection (real slapd)', function () {
  this.timeout(20000);
  const fx = useManagedSlapd();

  it('translates LDAP result codes into typed errors', async () => {
    const dn = `ou=people,${fx.slapd.baseDn}`;
    const exists = await rejection(fx.portal.add(dn, { objectClass: 'organizationalUnit', ou: 'people' }));
    expect(exists).to.be.instanceOf(ConflictError);
    expect(ldapResultCode(exists)).to.equal(68);
    expect(await rejection(fx.portal.delete(`ou=nothing,${fx.slapd.baseDn}`))).to.be.instanceOf(NotFoundError);
    expect(await rejection(fx.portal.add(`ou=bad,${fx.slapd.baseDn}`, { objectClass: 'organizationalUnit', ou: 'bad', uidNumber: '1' }))).to.be.instanceOf(
      ValidationError,
    );
    await fx.portal.add(`ou=parent,${fx.slapd.baseDn}`, { objectClass: 'organizationalUnit', ou: 'parent' });
    await fx.portal.add(`ou=child,ou=parent,${fx.slapd.baseDn}`, { objectClass: 'organizationalUnit', ou: 'child' });
    const nonLeaf = await rejection(fx.portal.delete(`ou=parent,${fx.slapd.baseDn}`));
    expect(nonLeaf).to.be.instanceOf(ConflictError);
    expect(ldapResultCode(nonLeaf)).to.equal(66);
    expect(translateLdapError(new Error('ECONNRESET'), 'x')).to.be.instanceOf(DirectoryUnavailableError);
  });

  it('enforces least privilege: the agent reads but cannot write, nobody reads anonymously, passwords stay hidden', async () => {
    const people = `ou=people,${fx.slapd.baseDn}`;
    expect(await fx.agent.read(people)).to.not.equal(undefined);
    expect(await rejection(fx.agent.add(`ou=x,${fx.slapd.baseDn}`, { objectClass: 'organizationalUnit', ou: 'x' }))).to.be.instanceOf(ForbiddenError);
    const portalEntry = await fx.portal.read(fx.slapd.portal.dn, ['userPassword', 'cn']);
    expect(portalEntry?.has('userPassword')).to.equal(false);
    expect(await rejection(fx.portal.modify(fx.slapd.agent.dn, [{ operation: 'replace', attribute: 'description', values: ['x'] }]))).to.be.instanceOf(
      ForbiddenError,
    );
    const anon = new Client({ url: fx.slapd.url, timeout: 2000 });
    try {
      const err = await rejection(anon.search(people, {}));
      expect(err.message).to.match(/authentication required/);
    } finally {
      await anon.unbind();
    }
    const wrong = new LdapConnection({ url: fx.slapd.url, bindDn: fx.slapd.portal.dn, password: 'wrong' });
    try {
      const err = await rejection(wrong.read(people));
      expect(err).to.be.instanceOf(DirectoryUnavailableError);
      expect(err.message).to.match(/refused our credentials/);
    } finally {
      await wrong.close();
    }
  });

  it('caps operations in flight (2000 concurrent searches all succeed)', async () => {
    const ldap = fx.slapd.connect('agent', { maxConcurrency: 50, poolSize: 2 });
    let peak = 0;
    try {
      const ops = Array.from({ length: 2000 }, () => {
        const p = ldap.read(`ou=people,${fx.slapd.baseDn}`, ['ou']);
        peak = Math.max(peak, ldap.inFlight);
        return p;
      });
      const res = await Promise.all(ops);
      expect(res.every((e) => e?.get('ou') === 'people')).to.equal(true);
      expect(peak).to.equal(50);
    } finally {
      await ldap.close();
    }
  });

  describe('when slapd is gone or hung', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'cg-slapd-down-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('gives DirectoryUnavailableError quickly when nothing listens', async () => {
      const port = await freeLoopbackPort();
      const ldap = new LdapConnection({ url: `ldap://127.0.0.1:${port}`, bindDn: 'cn=x', password: 'y', connectTimeoutMs: 1000 });
      const t0 = Date.now();
      const err = await rejection(ldap.read('dc=x'));
      expect(err).to.be.instanceOf(DirectoryUnavailableError);
      expect(err.message).to.match(/ECONNREFUSED|directory unavailable/);
      expect(Date.now() - t0).to.be.below(1500);
      await ldap.close();
    });

    it('gives DirectoryUnavailableError after slapd stops, and within the timeout when it hangs', async () => {
      const slapd = await startManagedSlapd({ dir });
      const ldap = slapd.connect('portal', { connectTimeoutMs: 500, operationTimeoutMs: 700 });
      try {
        expect(await ldap.read(slapd.baseDn)).to.not.equal(undefined);
        // hung: the process is alive but does not answer
        await stopProcess(slapd.pid);
        let t0 = Date.now();
        let err = await rejection(ldap.read(slapd.baseDn));
        expect(err).to.be.instanceOf(DirectoryUnavailableError);
        expect(Date.now() - t0).to.be.below(2000);
        process.kill(slapd.pid, 'SIGCONT');
        expect(await ldap.read(slapd.baseDn)).to.not.equal(undefined); // recovers by itself
        // stopped
        await slapd.stop();
        t0 = Date.now();
        err = await rejection(ldap.read(slapd.baseDn));
        expect(err).to.be.instanceOf(DirectoryUnavailableError);
        expect(Date.now() - t0).to.be.below(1500);
        const writes = await Promise.allSettled(Array.from({ length: 20 }, () => ldap.delete(`ou=x,${slapd.baseDn}`)));
        expect(writes.every((w) => w.status === 'rejected' && w.reason instanceof DirectoryUnavailableError)).to.equal(true);
      } finally {
        try {
          process.kill(slapd.pid, 'SIGCONT');
        } catch {
          /* gone */
        }
        await ldap.close();
        await slapd.stop();
      }
    });
  });
});
