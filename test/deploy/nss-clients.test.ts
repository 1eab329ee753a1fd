/**
 * docs/nss.md, run for real: nslcd and sssd, configured with the blocks of docs/nss.md (host, port,
 * CA file and password substituted), resolve people and campaign groups through the NSS account
 * over LDAPS and StartTLS, with getent/id going through the documented nsswitch.conf lines, and
 * a suspended person leaves NSS and comes back.
 *
 * The daemons read fixed paths (/etc/nslcd.conf, /etc/nsswitch.conf, /run/nslcd, /var/lib/sss),
 * so each runs in a private mount namespace (unshare -m) where the test's files are bind-mounted
 * over those paths; getent and id run in the same namespace (nsenter -m). The machine's own files
 * are never changed. Needs root, unshare/nsenter, and the Debian packages nslcd + libnss-ldapd
 * (sssd-ldap + libnss-sss for sssd); skipped with the reason otherwise.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Directory } from '../../core/directory/directory.js';
import { LdapConnection } from '../../core/ldap/connection.js';
import { SLAPD_BIN } from '../../core/ldap/managed-slapd.js';
import { startTlsSlapd, type TestTls, type TlsSlapd } from '../support/tls-slapd.js';
import { markedBlock } from '../support/doc-block.js';

const DOC = new URL('../../docs/nss.md', import.meta.url);

/** The code block that follows `<!-- nss-test: NAME -->` in docs/nss.md. */
export function docBlock(name: string): string {
  return markedBlock(DOC, 'nss-test', name);
}

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (nslcd/sssd, mount namespaces)';
  for (const bin of ['/usr/sbin/nslcd', '/usr/bin/unshare', '/usr/bin/nsenter', '/usr/bin/getent', '/usr/bin/openssl', SLAPD_BIN]) {
    if (!existsSync(bin)) return `${bin} is not installed (scripts/setup.sh installs nslcd, libnss-ldapd, sssd-ldap, libnss-sss)`;
  }
  if (!existsSync('/usr/lib/x86_64-linux-gnu/libnss_ldap.so.2') && !spawnSync('sh', ['-c', 'ls /lib/*/libnss_ldap.so.2 /usr/lib/*/libnss_ldap.so.2']).stdout.length) {
    return 'libnss_ldap.so.2 (package libnss-ldapd) is not installed';
  }
  const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /mnt']);
  if (probe.status !== 0) return `cannot make a private mount namespace here: ${probe.stderr.toString().trim()}`;
  return undefined;
}

/** Why the sssd tests cannot run here, or undefined. */
function sssdMissing(): string | undefined {
  for (const path of ['/usr/sbin/sssd', '/usr/sbin/sss_cache', '/usr/share/doc/sssd-ldap']) {
    if (!existsSync(path)) return `${path} is missing (packages sssd-ldap, sssd-tools, libnss-sss)`;
  }
  if (!spawnSync('sh', ['-c', 'ls /lib/*/libnss_sss.so.2 /usr/lib/*/libnss_sss.so.2']).stdout.length) return 'libnss_sss.so.2 (package libnss-sss) is not installed';
  return undefined;
}

/** A daemon in its own mount namespace; `run` executes a command in that namespace. */
class Namespaced {
  private out = '';
  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.out = (this.out + d.toString()).slice(-65536)));
    child.stderr?.on('data', (d: Buffer) => (this.out = (this.out + d.toString()).slice(-65536)));
  }
  /** `setup` (mounts) then `exec` the daemon in the foreground, in a new mount namespace. */
  static start(setup: string, daemon: string): Namespaced {
    const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-ec', `${setup}\nexec ${daemon}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    return new Namespaced(child);
  }
  run(cmd: string[]): { status: number | null; stdout: string } {
    const r = spawnSync('nsenter', ['-t', String(this.child.pid), '-m', '--', ...cmd], { timeout: 20000 });
    return { status: r.status, stdout: r.stdout.toString() };
  }
  log(): string {
    return this.out;
  }
  async waitFor(cmd: string[], ok: (r: { status: number | null; stdout: string }) => boolean, timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`daemon exited (${this.child.exitCode}):\n${this.out}`);
      if (ok(this.run(cmd))) return;
      if (Date.now() > deadline) throw new Error(`${cmd.join(' ')} never succeeded:\n${this.out.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

/** nsswitch.conf as the machine has it, with the documented passwd/group lines instead of its own. */
/** `name:gid:members` of a getent group line, members sorted (nslcd and sssd list them in any order). */
function groupLine(line: string): string {
  const [name, , gid, members] = line.trim().split(':');
  return `${name}:${gid}:${(members ?? '').split(',').filter(Boolean).sort().join(',')}`;
}

function nsswitchWith(lines: string): string {
  const own = readFileSync('/etc/nsswitch.conf', 'utf8').split('\n').filter((l) => !/^\s*(passwd|group):/.test(l));
  return `${lines.trim()}\n${own.join('\n')}\n`;
}

describe('NSS clients on a storage node: real nslcd and sssd with docs/nss.md (root, TLS, real slapd)', function () {
  this.timeout(90000);
  const reason = whyNot();
  let tmp: string;
  let slapd: TlsSlapd | undefined;
  let portal: LdapConnection;
  let dir: Directory;
  let nssPassword: string;
  let tls: TestTls;
  let baseDn: string;
  const daemons: Namespaced[] = [];

  before(async function () {
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    tmp = mkdtempSync(join(tmpdir(), 'cg-nss-'));
    // The managed slapd bootstraps the tree and the accounts; then the same config and data are
    // served with TLS (LDAPS and StartTLS) as a site's server would.
    slapd = await startTlsSlapd();
    ({ tls, baseDn } = slapd);
    nssPassword = slapd.accounts.nss.password;
    portal = new LdapConnection({ url: slapd.ldapUrl, bindDn: slapd.accounts.portal.dn, password: slapd.accounts.portal.password, connectTimeoutMs: 2000, operationTimeoutMs: 10000 });
    dir = new Directory({ ldap: portal, baseDn, ranges: { uid: { min: 70000, max: 79999 }, gid: { min: 170000, max: 179999 } } });
    await dir.people.create({ username: 'cgalice', cn: 'Alice Smith', mail: 'alice@example.org' });
    await dir.people.create({ username: 'cgbob', cn: 'Bob Jones', mail: 'bob@example.org' });
    await dir.campaigns.create({ name: 'cg-deep-field', pi: 'cgalice' });
    await dir.campaigns.addMember('cg-deep-field', 'cgbob');
  });

  after(async function () {
    this.timeout(20000);
    for (const d of daemons) await d.stop();
    await portal?.close();
    await slapd?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** A documented block with the test's server, CA and password in place of the examples. */
  function configured(block: string, ca = tls.ca): string {
    return docBlock(block)
      .replaceAll('ldaps://ldap.example.org/', `${slapd!.ldapsUrl}/`)
      .replaceAll('ldap://ldap.example.org/', `${slapd!.ldapUrl}/`)
      .replaceAll('/etc/ssl/certs/campaign-guard-ca.pem', ca)
      .replaceAll('NSS-ACCOUNT-PASSWORD', nssPassword)
      .replaceAll('dc=campaign-guard,dc=example', baseDn);
  }

  function startNslcd(block: string, ca?: string): Namespaced {
    const d = join(tmp, `nslcd-${block}-${daemons.length}`);
    mkdirSync(d);
    writeFileSync(join(d, 'nslcd.conf'), configured(block, ca), { mode: 0o600 });
    writeFileSync(join(d, 'nsswitch.conf'), nsswitchWith(docBlock('nsswitch-nslcd')));
    const ns = Namespaced.start(
      [
        'mount -t tmpfs tmpfs /run',
        'mkdir -p /run/nslcd && chown nslcd:nslcd /run/nslcd',
        `mount --bind ${d}/nslcd.conf /etc/nslcd.conf`,
        `mount --bind ${d}/nsswitch.conf /etc/nsswitch.conf`,
      ].join('\n'),
      '/usr/sbin/nslcd -d',
    );
    daemons.push(ns);
    return ns;
  }

  const lookups = (ns: Namespaced) => ({
    passwd: (name: string) => ns.run(['getent', 'passwd', name]),
    group: (name: string) => ns.run(['getent', 'group', name]),
    id: (name: string) => ns.run(['id', '-Gn', name]),
  });

  async function checkNss(ns: Namespaced, { cacheFlush, enumerates = false }: { cacheFlush?: () => void; enumerates?: boolean } = {}) {
    const l = lookups(ns);
    await ns.waitFor(['getent', 'passwd', 'cgalice'], (r) => r.status === 0);
    const alice = (await dir.people.require('cgalice'));
    const bob = (await dir.people.require('cgbob'));
    const campaign = await dir.campaigns.require('cg-deep-field');
    expect(l.passwd('cgalice').stdout.trim()).to.equal(`cgalice:*:${alice.uidNumber}:${alice.gidNumber}:Alice Smith:/home/cgalice:/bin/bash`);
    expect(l.passwd(String(bob.uidNumber)).stdout.trim()).to.match(new RegExp(`^cgbob:[^:]*:${bob.uidNumber}:${bob.gidNumber}:Bob Jones:/home/cgbob:/bin/bash$`));
    expect(groupLine(l.group('cg-deep-field').stdout)).to.equal(`cg-deep-field:${campaign.gidNumber}:cgalice,cgbob`);
    expect(groupLine(l.group('cgbob').stdout)).to.equal(`cgbob:${bob.gidNumber}:cgbob`);
    expect(l.id('cgbob').stdout.trim().split(' ').sort()).to.deep.equal(['cg-deep-field', 'cgbob']);
    // local users still resolve from files
    expect(l.passwd('root').stdout).to.match(/^root:x:0:0:/);
    if (enumerates) {
      // getent passwd/group without a name: files first, then the directory (nslcd: pagesize 1000)
      const all = ns.run(['getent', 'passwd']).stdout.split('\n').map((line) => line.split(':')[0]);
      expect(all).to.include.members(['root', 'cgalice', 'cgbob']);
      expect(ns.run(['getent', 'group']).stdout).to.match(/^cg-deep-field:/m);
    }

    await dir.people.suspend('cgbob');
    try {
      cacheFlush?.();
      expect(l.passwd('cgbob').status, 'suspended: getent passwd cgbob').to.equal(2);
      expect(l.passwd(String(bob.uidNumber)).status).to.equal(2);
      expect(l.group('cgbob').status, 'suspended: private group').to.equal(2);
      expect(groupLine(l.group('cg-deep-field').stdout)).to.equal(`cg-deep-field:${campaign.gidNumber}:cgalice`);
      expect(l.id('cgbob').status).to.not.equal(0);
    } finally {
      await dir.people.reactivate('cgbob');
    }
    cacheFlush?.();
    await ns.waitFor(['getent', 'passwd', 'cgbob'], (r) => r.status === 0, 5000);
    expect(l.passwd('cgbob').stdout.trim()).to.match(/^cgbob:/);
    expect(groupLine(l.group('cg-deep-field').stdout)).to.equal(`cg-deep-field:${campaign.gidNumber}:cgalice,cgbob`);
    expect(l.id('cgbob').stdout.trim().split(' ').sort()).to.deep.equal(['cg-deep-field', 'cgbob']);
  }

  function startSssd(startTls = false): Namespaced {
    const d = join(tmp, `sssd-${daemons.length}`);
    mkdirSync(d);
    let conf = configured('sssd');
    if (startTls) conf = conf.replace(/^ldap_uri = .*$/m, configured('sssd-starttls').trim());
    writeFileSync(join(d, 'sssd.conf'), conf, { mode: 0o600 });
    writeFileSync(join(d, 'nsswitch.conf'), nsswitchWith(docBlock('nsswitch-sssd')));
    const ns = Namespaced.start(
      [
        'mount -t tmpfs tmpfs /run',
        'mount -t tmpfs tmpfs /var/log/sssd',
        'mount -t tmpfs tmpfs /var/lib/sss',
        'mkdir -p /var/lib/sss/db /var/lib/sss/pipes/private /var/lib/sss/mc /var/lib/sss/pubconf /var/lib/sss/gpo_cache /var/lib/sss/secrets /var/lib/sss/deskprofile',
        'chmod 0700 /var/lib/sss/db /var/lib/sss/pipes/private /var/lib/sss/secrets',
        `mount --bind ${d}/sssd.conf /etc/sssd/sssd.conf 2>/dev/null || true`,
        `mount --bind ${d}/nsswitch.conf /etc/nsswitch.conf`,
      ].join('\n'),
      `/usr/sbin/sssd -i --logger=stderr -c ${d}/sssd.conf`,
    );
    daemons.push(ns);
    return ns;
  }

  it('sssd over LDAPS (block sssd, nsswitch "files sss"): people, campaign groups, id; suspension leaves (after sss_cache) and comes back', async function () {
    const missing = sssdMissing();
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    const ns = startSssd();
    try {
      // As docs/nss.md says: sssd answers from its cache; `sss_cache -E` makes a change effective at once.
      await checkNss(ns, { cacheFlush: () => void ns.run(['sss_cache', '-E']) });
    } finally {
      await ns.stop();
    }
  });

  it('sssd over StartTLS (block sssd with the lines of block sssd-starttls) resolves the same', async function () {
    if (sssdMissing()) this.skip();
    const ns = startSssd(true);
    try {
      await ns.waitFor(['getent', 'passwd', 'cgalice'], (r) => r.status === 0);
      expect(groupLine(ns.run(['getent', 'group', 'cg-deep-field']).stdout)).to.match(/^cg-deep-field:\d+:cgalice,cgbob$/);
    } finally {
      await ns.stop();
    }
  });

  it('nslcd over LDAPS (docs/nss.md block nslcd-ldaps, nsswitch "files ldap"): people, campaign groups, id; suspension leaves and comes back', async () => {
    const ns = startNslcd('nslcd-ldaps');
    try {
      await checkNss(ns, { enumerates: true });
    } finally {
      await ns.stop();
    }
  });

  it('nslcd over StartTLS (block nslcd-starttls) resolves the same', async () => {
    const ns = startNslcd('nslcd-starttls');
    try {
      await ns.waitFor(['getent', 'passwd', 'cgalice'], (r) => r.status === 0);
      expect(groupLine(ns.run(['getent', 'group', 'cg-deep-field']).stdout)).to.match(/^cg-deep-field:\d+:cgalice,cgbob$/);
    } finally {
      await ns.stop();
    }
  });

  it('nslcd that does not trust the server certificate resolves nothing (tls_reqcert demand)', async () => {
    // The block of the LDAPS test above with another CA file: the same server, so a refused connection is the trust.
    const ns = startNslcd('nslcd-ldaps', tls.otherCa);
    try {
      // Asked until nslcd says it tried (however long it takes to start on a loaded machine), never resolved.
      const refused = /failed to bind to LDAP server ldaps:\/\/[^:]+:\d+\/: Can't contact LDAP server/;
      for (const start = Date.now(); !refused.test(ns.log()) && Date.now() - start < 15000; ) {
        expect(ns.run(['getent', 'passwd', 'cgalice']).status).to.not.equal(0);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(ns.log()).to.match(refused);
      expect(ns.run(['getent', 'passwd', 'cgalice']).status).to.not.equal(0);
    } finally {
      await ns.stop();
    }
  });
});
