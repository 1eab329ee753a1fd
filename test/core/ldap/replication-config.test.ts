/** The replication snippets shipped in ldap-schema/replication/ are the text the managed slapd runs. */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { replicationExample, SYNCPROV_CONF, syncreplConf } from '../../../core/ldap/managed-slapd.js';

describe('ldap-schema/replication (shipped configuration)', () => {
  it('provider.conf and consumer.conf are what replicationExample generates', () => {
    expect(readFileSync('ldap-schema/replication/provider.conf', 'utf8')).to.equal(replicationExample('provider'));
    expect(readFileSync('ldap-schema/replication/consumer.conf', 'utf8')).to.equal(replicationExample('consumer'));
  });

  it('are built from the syncprov and syncrepl text the managed slapd writes into slapd.conf', () => {
    const src = { rid: 1, url: 'ldaps://provider.example.org', tls: { caFile: '/etc/ldap/tls/provider-ca.pem' }, bindDn: 'cn=replicator,ou=services,dc=campaign-guard,dc=example', password: 'the-replicator-password' };
    expect(replicationExample('consumer')).to.include(syncreplConf('dc=campaign-guard,dc=example', [src])).and.include(SYNCPROV_CONF);
    expect(replicationExample('provider')).to.include(SYNCPROV_CONF).and.include('serverID 1');
    expect(syncreplConf('dc=x', [src])).to.include('type=refreshAndPersist');
  });
});
