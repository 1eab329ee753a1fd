/**
 * Both schema forms load in slapd and define the same thing: the .schema files through a
 * slapd.conf converted by slaptest, the .ldif files through slapadd into a fresh cn=config.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const schemaDir = fileURLToPath(new URL('../../ldap-schema/', import.meta.url));
const system = ['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `/etc/ldap/schema/${s}`);
const ours = ['voperson', 'campaign-guard'].map((s) => join(schemaDir, s));

/** olcAttributeTypes/olcObjectClasses/olcObjectIdentifier of one schema entry, unfolded, without {N} prefixes. */
function definitions(ldif: string, name: string): string[] {
  const unfolded = ldif.replace(/\r?\n /g, '');
  const entries = unfolded.split(/\n\n+/);
  const entry = entries.find((e) => new RegExp(`^dn: cn=(\\{\\d+\\})?${name},cn=schema,cn=config$`, 'm').test(e));
  if (!entry) throw new Error(`no schema entry ${name}`);
  return entry
    .split('\n')
    .filter((l) => /^olc(AttributeTypes|ObjectClasses|ObjectIdentifier):/.test(l))
    .map((l) => l.replace(/^(\w+): \{\d+\}/, '$1: ').replace(/\s+/g, ' ').trim());
}

function slapcatConfig(configDir: string): string {
  return execFileSync('/usr/sbin/slapcat', ['-F', configDir, '-n', '0', '-o', 'ldif-wrap=no'], { encoding: 'utf8' });
}

describe('ldap-schema', function () {
  this.timeout(20000);
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'cg-schema-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('loads in both forms and both forms define the same attribute types and classes', () => {
    // slapd.conf form, converted to cn=config by slaptest
    const fromConf = join(tmp, 'from-conf');
    mkdirSync(fromConf);
    const conf = join(tmp, 'slapd.conf');
    writeFileSync(conf, [...system, ...ours].map((s) => `include ${s}.schema`).join('\n') + '\n');
    execFileSync('/usr/sbin/slaptest', ['-f', conf, '-F', fromConf], { stdio: 'pipe' });

    // cn=config form, loaded with slapadd into an empty config
    const fromLdif = join(tmp, 'from-ldif');
    mkdirSync(fromLdif);
    const base = `dn: cn=config\nobjectClass: olcGlobal\ncn: config\n\ndn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n`;
    const all = base + [...system, ...ours].map((s) => readFileSync(`${s}.ldif`, 'utf8').trim()).join('\n\n') + '\n';
    const bootstrap = join(tmp, 'config.ldif');
    writeFileSync(bootstrap, all);
    execFileSync('/usr/sbin/slapadd', ['-n', '0', '-F', fromLdif, '-l', bootstrap], { stdio: 'pipe' });
    execFileSync('/usr/sbin/slaptest', ['-F', fromLdif], { stdio: 'pipe' });

    const a = slapcatConfig(fromConf);
    const b = slapcatConfig(fromLdif);
    for (const name of ['voperson', 'campaign-guard']) {
      const da = definitions(a, name);
      const db = definitions(b, name);
      expect(da.length, name).to.be.greaterThan(5);
      expect(db, name).to.deep.equal(da);
    }
  });

  it('uses the documented OID arcs', () => {
    const cg = readFileSync(join(schemaDir, 'campaign-guard.schema'), 'utf8');
    expect(cg).to.match(/objectIdentifier cgRoot 2\.25\.194237075416763778395996360708565555886\n/);
    expect(cg).to.match(/objectIdentifier cgAttr cgRoot:1\n/);
    expect(cg).to.match(/objectIdentifier cgClass cgRoot:2\n/);
    const numbers = [...cg.matchAll(/attributetype \( cgAttr:(\d+) /g)].map((m) => Number(m[1]));
    expect(new Set(numbers).size).to.equal(numbers.length);
    const vo = readFileSync(join(schemaDir, 'voperson.schema'), 'utf8');
    expect(vo).to.match(/objectIdentifier voPersonRoot 1\.3\.6\.1\.4\.1\.25178\.4\n/);
    expect(vo).to.contain("NAME 'voPersonStatus'");
  });

  it('rejects a schema with an error (the test can fail)', () => {
    const broken = join(tmp, 'broken.conf');
    writeFileSync(broken, `include /etc/ldap/schema/core.schema\nattributetype ( 2.25.1.1 NAME 'x' SYNTAX 9.9.9 )\n`);
    mkdirSync(join(tmp, 'broken'));
    expect(() => execFileSync('/usr/sbin/slaptest', ['-f', broken, '-F', join(tmp, 'broken')], { stdio: 'pipe' })).to.throw();
  });
});
