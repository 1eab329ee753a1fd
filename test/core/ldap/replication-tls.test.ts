/**
 * Replication over TLS for real: a provider serving LDAPS with a certificate made here
 * (test/support/tls-slapd.ts) and managed consumers running the syncrepl text we ship
 * (ldap-schema/replication/consumer.conf: tls_cacert, tls_reqcert=demand, tls_reqsan=demand).
 * slapd.conf(5), syncrepl (OpenLDAP source doc/man/man5/slapd.conf.5): "The tls_reqcert setting
 * defaults to "demand", the tls_reqsan setting defaults to "allow", and the other TLS settings
 * default to the same as the main slapd TLS settings"; ldap.conf(5) TLS_REQSAN demand: "If no SAN is
 * present in the server certificate, or no SANs match, the session is immediately terminated."
 * A consumer that trusts the provider's CA copies the tree, over LDAPS or over StartTLS (an ldap://
 * provider with a CA gets starttls=critical: "If the critical argument is supplied, the session will
 * be aborted if the StartTLS request fails. Otherwise the syncrepl session continues without TLS",
 * the same page); one that trusts another CA, or names the provider by a host its certificate does
 * not carry, copies nothing (the replicator's password
 * and every password hash never go to a server it cannot verify).
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Directory } from '../../../core/directory/directory.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { LdapConnection } from '../../../core/ldap/connection.js';
import { startManagedSlapd, type ManagedSlapd } from '../../../core/ldap/managed-slapd.js';
import { startTlsSlapd, type TlsSlapd } from '../../support/tls-slapd.js';
import { until } from '../../support/until.js';

describe('core/ldap replication over TLS (real slapd provider on LDAPS, managed consumers)', function () {
  this.timeout(90_000);
  let provider: TlsSlapd;
  let root: string;
  const consumers: ManagedSlapd[] = [];

  before(async () => {
    provider = await startTlsSlapd();
    root = mkdtempSync(join(tmpdir(), 'cg-repl-tls-'));
  });
  after(async () => {
    for (const c of consumers) await c.stop();
    await provider?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const consumer = async (name: string, url: string, caFile: string) => {
    const c = await startManagedSlapd({
      dir: join(root, name),
      credentials: provider.accounts,
      replication: { consumerOf: [{ rid: 1, url, bindDn: provider.accounts.replicator.dn, password: provider.accounts.replicator.password, tls: { caFile } }] },
    });
    consumers.push(c);
    return c;
  };
  /** The person on this consumer, read as the consumer's rootdn (undefined while not replicated). */
  const personOn = async (c: ManagedSlapd, username: string) => {
    const admin = c.connect('admin');
    try {
      return await admin.read(`uid=${username},ou=people,${provider.baseDn}`, ['uid']);
    } finally {
      await admin.close();
    }
  };

  it('a consumer that trusts the provider\'s CA copies the tree over LDAPS and over StartTLS (critical); one that trusts another CA, or names another host, copies nothing', async () => {
    const portal = new LdapConnection({ url: provider.ldapUrl, bindDn: provider.accounts.portal.dn, password: provider.accounts.portal.password });
    try {
      const dir = new Directory({ ldap: portal, baseDn: provider.baseDn, ranges: rangesConfigSchema.parse({}) });
      await dir.people.create({ username: 'tlsfirst' });
      const port = new URL(provider.ldapsUrl).port;
      const trusting = await consumer('trusting', provider.ldapsUrl, provider.tls.ca);
      const otherCa = await consumer('other-ca', provider.ldapsUrl, provider.tls.otherCa);
      const otherHost = await consumer('other-host', `ldaps://localhost:${port}`, provider.tls.ca); // the certificate names IP 127.0.0.1 only
      const startTls = await consumer('starttls', provider.ldapUrl, provider.tls.ca); // ldap:// with a CA: starttls=critical
      const startTlsOtherCa = await consumer('starttls-other-ca', provider.ldapUrl, provider.tls.otherCa);

      await dir.people.create({ username: 'tlssecond' });
      await until('the consumers trusting the CA (LDAPS, StartTLS) to copy tlssecond', 20_000, async () => (await personOn(trusting, 'tlssecond')) && personOn(startTls, 'tlssecond'));
      expect(await personOn(trusting, 'tlsfirst')).to.not.equal(undefined);
      // The same time, and then some, for the others: their syncrepl retries every second and fails each time.
      await sleep(2000);
      expect(readFileSync(join(startTls.dir, 'slapd.conf'), 'utf8')).to.include('starttls=critical');
      for (const c of [otherCa, otherHost, startTlsOtherCa]) {
        expect(await personOn(c, 'tlsfirst'), c.dir).to.equal(undefined);
        expect(await personOn(c, 'tlssecond'), c.dir).to.equal(undefined);
      }
    } finally {
      await portal.close();
    }
  });
});
