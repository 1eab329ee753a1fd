import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startManagedSlapd } from '../../../core/ldap/managed-slapd.js';
import { DirectoryUnavailableError } from '../../../core/errors.js';

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

  it('adds the NSS account to a directory made before it existed (credentials.json without nss)', async () => {
    const dir = tmp();
    const first = await startManagedSlapd({ dir });
    const admin = first.connect('admin');
    await admin.delete(first.nss.dn);
    await admin.close();
    await first.stop();
    const file = join(dir, 'credentials.json');
    const old = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    delete old.nss;
    writeFileSync(file, JSON.stringify(old), { mode: 0o600 });

    const second = await startManagedSlapd({ dir });
    const nss = second.connect('nss');
    try {
      expect(second.nss.dn).to.equal(`cn=nss,ou=services,${second.baseDn}`);
      expect(second.portal.password).to.equal(first.portal.password);
      await nss.ping(second.baseDn);
      expect((JSON.parse(readFileSync(file, 'utf8')) as { nss: { password: string } }).nss.password).to.equal(second.nss.password);
      expect(statSync(file).mode & 0o777).to.equal(0o600);
    } finally {
      await nss.close();
      await second.stop();
    }
  });

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
