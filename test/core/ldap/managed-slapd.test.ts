import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort, startManagedSlapd } from '../../../core/ldap/managed-slapd.js';
import { createServer } from 'node:net';
import { DirectoryUnavailableError } from '../../../core/errors.js';

describe('core/ldap/managed-slapd: freeLoopbackPort', () => {
  it('gives free ports below the kernel\'s ephemeral range (where no outgoing connection takes them), never the same twice', async () => {
    // ip_local_port_range (Linux, Documentation/networking/ip-sysctl.rst): the ports connect() and listen(0) take
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const ports: number[] = [];
    for (let i = 0; i < 100; i++) ports.push(await freeLoopbackPort());
    expect(new Set(ports).size).to.equal(ports.length);
    for (const port of ports) expect(port).to.be.within(10000, low - 1);
    // each is free: a server listens on it
    const srv = createServer();
    await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(ports[0], '127.0.0.1', resolve));
    await new Promise((resolve) => srv.close(resolve));
  });

  it('passes over a port that is taken, and one it handed out before', async () => {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const at = (port: number) => (port - 10000 + 0.5) / (low - 10000); // the random number that picks this port
    const given = await freeLoopbackPort();
    const taken = createServer(); // a port below the range some other server holds
    let port = 20000;
    for (; port < low; port++) {
      const ok = await new Promise<boolean>((resolve) => taken.once('error', () => resolve(false)).listen(port, '127.0.0.1', () => resolve(true)));
      if (ok && port !== given) break;
      if (ok) await new Promise((resolve) => taken.close(resolve));
    }
    try {
      const picks = [at(port), at(given), at(port + 1)];
      const got = await freeLoopbackPort(() => picks.shift() ?? Math.random());
      expect(picks, 'the taken port and the one handed out were tried and passed over').to.deep.equal([]);
      expect(got).to.not.be.oneOf([port, given]);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('core/ldap/managed-slapd', function () {
  this.timeout(30000);
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'cg-managed-'));
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('keeps data and credentials across a restart in the same directory', async () => {
    const dir = tmp();
    const first = await startManagedSlapd({ dir });
    const p1 = first.connect('portal');
    await p1.add(`ou=kept,${first.baseDn}`, { objectClass: 'organizationalUnit', ou: 'kept' });
    await p1.modify(`cn=uidNumber,ou=allocation,${first.baseDn}`, [{ operation: 'replace', attribute: 'cgNextValue', values: ['12345'] }]);
    await p1.close();
    await first.stop();
    expect(first.running()).to.equal(false);
    expect(statSync(join(dir, 'credentials.json')).mode & 0o777).to.equal(0o600);

    const second = await startManagedSlapd({ dir });
    const p2 = second.connect('portal');
    try {
      expect(second.portal.password).to.equal(first.portal.password);
      expect(await p2.read(`ou=kept,${second.baseDn}`)).to.not.equal(undefined);
      // bootstrap did not reset the counter
      expect((await p2.read(`cn=uidNumber,ou=allocation,${second.baseDn}`, ['cgNextValue']))?.get('cgNextValue')).to.equal('12345');
    } finally {
      await p2.close();
      await second.stop();
    }
  });

  // Accounts added after the first managed directories were made: such a directory gets the entry and its credentials at the next start.
  for (const account of ['nss', 'replicator'] as const) {
    it(`adds the ${account} account to a directory made before it existed (credentials.json without ${account})`, async () => {
      const dir = tmp();
      const first = await startManagedSlapd({ dir });
      const admin = first.connect('admin');
      await admin.delete(first[account].dn);
      await admin.close();
      await first.stop();
      const file = join(dir, 'credentials.json');
      const old = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      delete old[account];
      writeFileSync(file, JSON.stringify(old), { mode: 0o600 });

      const second = await startManagedSlapd({ dir });
      const added = second.connect(account);
      try {
        expect(second[account].dn).to.equal(`cn=${account},ou=services,${second.baseDn}`);
        expect(second.portal.password).to.equal(first.portal.password);
        await added.ping(second.baseDn);
        expect((JSON.parse(readFileSync(file, 'utf8')) as Record<string, { password: string }>)[account]!.password).to.equal(second[account].password);
        expect(statSync(file).mode & 0o777).to.equal(0o600);
        if (account === 'replicator') expect((await added.read(second.agent.dn, ['userPassword']))?.get('userPassword')).to.match(/^\{SSHA\}/);
      } finally {
        await added.close();
        await second.stop();
      }
    });
  }

  it('reports slapd\'s own error output when it cannot start', async () => {
    const dir = tmp();
    const schemaDir = tmp();
    writeFileSync(join(schemaDir, 'voperson.schema'), readFileSync(new URL('../../../ldap-schema/voperson.schema', import.meta.url)));
    writeFileSync(join(schemaDir, 'campaign-guard.schema'), 'attributetype ( 2.25.1 NAME \'broken\' SYNTAX 9.9.9 )\n');
    const t0 = Date.now();
    let err: Error | undefined;
    try {
      await startManagedSlapd({ dir, schemaDir, startTimeoutMs: 5000 });
    } catch (e) {
      err = e as Error;
    }
    expect(err).to.be.instanceOf(DirectoryUnavailableError);
    expect(err!.message).to.match(/slapd failed to start/);
    expect(err!.message).to.match(/campaign-guard\.schema/); // slapd's stderr names the bad file
    expect(Date.now() - t0).to.be.below(5000);
  });

  it('stops with SIGTERM and is safe to stop twice', async () => {
    const slapd = await startManagedSlapd({ dir: tmp() });
    await slapd.stop();
    await slapd.stop();
    expect(() => process.kill(slapd.pid, 0)).to.throw();
  });
});
