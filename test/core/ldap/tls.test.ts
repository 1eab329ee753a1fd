/**
 * LDAP over TLS for real (slapd with a certificate made here): ldaps:// and StartTLS, for the ldapts
 * connection the portal and the agent's small reads use and for the agent's own paged reader; a
 * server certificate from another CA, or for another host name, is refused with a clear message;
 * plain ldap:// to a host that is not loopback is refused by the configuration.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DirectoryUnavailableError } from '../../../core/errors.js';
import { ldapConfigSchema } from '../../../core/ldap/config.js';
import { LdapConnection } from '../../../core/ldap/connection.js';
import { readDirectory } from '../../../mapper-agent/map/directory-reader.js';
import { startTlsSlapd, type TlsSlapd } from '../../support/tls-slapd.js';

describe('core/ldap over TLS (real slapd, LDAPS and StartTLS)', function () {
  this.timeout(60000);
  let s: TlsSlapd;
  const conns: LdapConnection[] = [];
  const connect = (url: string, ca: string, startTls = false) => {
    const c = LdapConnection.fromConfig(ldapConfigSchema.parse({ url, bindDn: s.accounts.agent.dn, password: s.accounts.agent.password, baseDn: s.baseDn, caFile: ca, startTls, connectTimeoutMs: 3000, operationTimeoutMs: 5000 }));
    conns.push(c);
    return c;
  };

  before(async () => {
    s = await startTlsSlapd();
  });
  after(async () => {
    for (const c of conns) await c.close().catch(() => undefined);
    await s?.stop();
  });

  it('ldaps:// with the CA file: the connection and the agent\'s paged reader work', async () => {
    const c = connect(s.ldapsUrl, s.tls.ca);
    await c.ping(s.baseDn);
    const snapshot = await readDirectory(c, s.baseDn);
    let n = 0;
    await snapshot.forEachIdentity(() => void n++);
    expect(snapshot.problems).to.deep.equal([]);
  });

  it('StartTLS on ldap://: the connection and the paged reader upgrade before binding', async () => {
    const c = connect(s.ldapUrl, s.tls.ca, true);
    await c.ping(s.baseDn);
    const snapshot = await readDirectory(c, s.baseDn);
    await snapshot.forEachIdentity(() => undefined);
    expect(snapshot.problems).to.deep.equal([]);
  });

  it('refuses a server certificate from another CA, clearly, over both', async () => {
    for (const [url, startTls] of [[s.ldapsUrl, false], [s.ldapUrl, true]] as const) {
      const err = await connect(url, s.tls.otherCa, startTls).ping(s.baseDn).catch((e: unknown) => e);
      expect(err, url).to.be.instanceOf(DirectoryUnavailableError).with.property('message').that.matches(/self.signed|unable to verify|certificate/i);
      const reader = await readDirectory(connect(url, s.tls.otherCa, startTls), s.baseDn).catch((e: unknown) => e);
      expect(reader, `${url} paged reader`).to.be.instanceOf(DirectoryUnavailableError).with.property('message').that.matches(/certificate|verify/i);
    }
  });

  it('refuses a server certificate for another host name (the certificate names 127.0.0.1 only)', async () => {
    const url = s.ldapsUrl.replace('127.0.0.1', 'localhost');
    const err = await connect(url, s.tls.ca).ping(s.baseDn).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(DirectoryUnavailableError).with.property('message').that.matches(/altnames|does not match|hostname/i);
    expect(readFileSync(s.tls.cert, 'utf8')).to.include('BEGIN CERTIFICATE');
  });

  it('configuration refuses plain ldap:// to a host that is not loopback, unless told', () => {
    const base = { bindDn: 'cn=x', password: 'p' };
    const refused = ldapConfigSchema.safeParse({ ...base, url: 'ldap://ldap.example.org' });
    expect(refused.success).to.equal(false);
    expect(JSON.stringify(refused.error?.issues)).to.match(/would send the bind password in the clear/);
    expect(ldapConfigSchema.safeParse({ ...base, url: 'ldap://ldap.example.org', startTls: true }).success).to.equal(true);
    expect(ldapConfigSchema.safeParse({ ...base, url: 'ldap://ldap.example.org', allowPlainRemote: true }).success).to.equal(true);
    expect(ldapConfigSchema.safeParse({ ...base, url: 'ldap://127.0.0.1:3890' }).success).to.equal(true);
    expect(ldapConfigSchema.safeParse({ ...base, url: 'ldaps://ldap.example.org' }).success).to.equal(true);
    expect(ldapConfigSchema.safeParse({ ...base, url: 'ldaps://ldap.example.org', startTls: true }).success, 'StartTLS on ldaps://').to.equal(false);
  });
});
