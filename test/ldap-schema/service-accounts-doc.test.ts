/**
 * The LDIF ldap-schema/README.md gives a site for its four service accounts (block marked
 * `<!-- ldap-test: service-accounts -->`): the same entries the bootstrap makes (passwords aside),
 * added with ldapadd as the rootdn to a slapd running our access rules, each userPassword the output
 * of slappasswd; then every account binds with its clear password and can do what it is for.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Directory } from '../../core/directory/directory.js';
import { bootstrapEntries } from '../../core/ldap/bootstrap.js';
import { DEFAULT_BASE_DN, rangesConfigSchema } from '../../core/ldap/config.js';
import { LdapConnection } from '../../core/ldap/connection.js';
import { startManagedSlapd, type ManagedSlapd } from '../../core/ldap/managed-slapd.js';
import { markedBlock } from '../support/doc-block.js';

const ACCOUNTS = { portal: 'PORTAL', 'mapper-agent': 'AGENT', nss: 'NSS', replicator: 'REPLICATOR' } as const;

const docBlock = () => markedBlock(new URL('../../ldap-schema/README.md', import.meta.url), 'ldap-test', 'service-accounts');

/** LDIF records as dn -> attribute -> values (comments dropped). */
function parseLdif(text: string): Map<string, Record<string, string[]>> {
  const out = new Map<string, Record<string, string[]>>();
  for (const record of text.split(/\n\s*\n/)) {
    const lines = record.split('\n').filter((l) => l && !l.startsWith('#'));
    if (!lines.length) continue;
    const attrs: Record<string, string[]> = {};
    let dn = '';
    for (const line of lines) {
      const [name, value] = [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()];
      if (name === 'dn') dn = value;
      else (attrs[name] ??= []).push(value);
    }
    out.set(dn, attrs);
  }
  return out;
}

describe('ldap-schema/README.md: the service accounts on a site\'s own slapd', function () {
  this.timeout(60_000);
  let dir: string;
  let slapd: ManagedSlapd;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cg-svc-doc-'));
    slapd = await startManagedSlapd({ dir: join(dir, 'slapd') });
  });
  after(async () => {
    await slapd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the entries the bootstrap makes, passwords aside', () => {
    const documented = parseLdif(docBlock());
    const made = bootstrapEntries(DEFAULT_BASE_DN, rangesConfigSchema.parse({}), { portalPassword: 'x', agentPassword: 'x', nssPassword: 'x', replicatorPassword: 'x' }).filter((e) => e.dn.includes(',ou=services,'));
    expect([...documented.keys()]).to.deep.equal(made.map((e) => e.dn));
    for (const e of made) {
      const { userPassword: _hash, ...rest } = documented.get(e.dn)!;
      const { userPassword: _made, ...expected } = e.attrs;
      expect(rest, e.dn).to.deep.equal(Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])));
    }
  });

  it('ldapadd as the rootdn with slappasswd hashes: every account binds with its password and does its job', async () => {
    const base = slapd.baseDn;
    const admin = slapd.connect('admin');
    try {
      for (const name of Object.keys(ACCOUNTS)) await admin.delete(`cn=${name},ou=services,${base}`); // as a site's slapd has them: not yet
    } finally {
      await admin.close();
    }
    const passwords = Object.fromEntries(Object.keys(ACCOUNTS).map((name) => [name, `site ${name} password`]));
    let ldif = docBlock();
    for (const [name, tag] of Object.entries(ACCOUNTS)) {
      const hash = execFileSync('/usr/sbin/slappasswd', ['-s', passwords[name]!], { encoding: 'utf8' }).trim();
      expect(hash).to.match(/^\{SSHA\}/);
      ldif = ldif.replace(`{SSHA}${tag}-PASSWORD-HASH`, hash);
    }
    const file = join(dir, 'service-accounts.ldif');
    writeFileSync(file, ldif);
    const added = spawnSync('ldapadd', ['-x', '-H', slapd.url, '-D', slapd.admin.dn, '-w', slapd.admin.password, '-f', file], { encoding: 'utf8' });
    expect(added.status, added.stderr).to.equal(0);

    const as = (name: string) => new LdapConnection({ url: slapd.url, bindDn: `cn=${name},ou=services,${base}`, password: passwords[name]!, connectTimeoutMs: 2000 });
    const [portal, agent, nss, replicator] = [as('portal'), as('mapper-agent'), as('nss'), as('replicator')];
    try {
      const directory = new Directory({ ldap: portal, baseDn: base, ranges: rangesConfigSchema.parse({}) });
      await directory.people.create({ username: 'sitefirst' });
      expect((await agent.read(`uid=sitefirst,ou=people,${base}`, ['uidNumber']))?.get('uidNumber')).to.match(/^\d+$/);
      expect((await nss.read(`uid=sitefirst,ou=people,${base}`, ['uid']))?.get('uid')).to.equal('sitefirst');
      expect((await replicator.read(`cn=nss,ou=services,${base}`, ['userPassword']))?.get('userPassword')).to.match(/^\{SSHA\}/);
      expect((await agent.read(`cn=nss,ou=services,${base}`, ['userPassword']))).to.equal(undefined);
    } finally {
      for (const c of [portal, agent, nss, replicator]) await c.close();
    }
  });
});
