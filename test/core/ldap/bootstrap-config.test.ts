import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../../core/config.js';
import { ConfigError } from '../../../core/errors.js';
import { AGENT_SERVICE, bootstrapLdif, NSS_SERVICE, PORTAL_SERVICE, REPLICATION_SERVICE, serviceDn } from '../../../core/ldap/bootstrap.js';
import { accessControl } from '../../../core/ldap/managed-slapd.js';
import { DEFAULT_BASE_DN, directoryConfigSchema, rangesConfigSchema } from '../../../core/ldap/config.js';

describe('core/ldap bootstrap and config', () => {
  it('ships ldap-schema/bootstrap.ldif equal to what the code bootstraps', () => {
    const shipped = readFileSync(new URL('../../../ldap-schema/bootstrap.ldif', import.meta.url), 'utf8');
    const body = shipped.split('\n').filter((l) => !l.startsWith('#')).join('\n').trim();
    expect(body).to.equal(bootstrapLdif(DEFAULT_BASE_DN, rangesConfigSchema.parse({})).trim());
  });

  it('ships ldap-schema/access.conf equal to the managed slapd\'s access rules for the default base', () => {
    const shipped = readFileSync(new URL('../../../ldap-schema/access.conf', import.meta.url), 'utf8');
    const body = shipped.split('\n').filter((l) => !l.startsWith('##')).join('\n');
    const b = DEFAULT_BASE_DN;
    expect(body).to.equal(accessControl({ baseDn: b, portalDn: serviceDn(PORTAL_SERVICE, b), agentDn: serviceDn(AGENT_SERVICE, b), nssDn: serviceDn(NSS_SERVICE, b), replicatorDn: serviceDn(REPLICATION_SERVICE, b) }));
  });

  it('defaults to a managed slapd and validates ranges and credentials', () => {
    const cfg = loadConfig(directoryConfigSchema, { env: {} });
    expect(cfg.ldap.url).to.equal(undefined);
    expect(cfg.ldap.baseDn).to.equal(DEFAULT_BASE_DN);
    expect(cfg.ranges.uid).to.deep.equal({ min: 10000, max: 59999 });
    const env = { CG_LDAP__URL: 'ldap://127.0.0.1:389', CG_LDAP__BIND_DN: 'cn=portal', CG_LDAP__PASSWORD: 'pw', CG_RANGES__UID__MIN: '5', CG_RANGES__UID__MAX: '9', CG_LDAP__MAX_CONCURRENCY: '10' };
    const c2 = loadConfig(directoryConfigSchema, { env });
    expect(c2.ranges.uid).to.deep.equal({ min: 5, max: 9 });
    expect(c2.ldap.maxConcurrency).to.equal(10);
    expect(() => loadConfig(directoryConfigSchema, { env: { CG_LDAP__URL: 'ldap://h' } })).to.throw(ConfigError, /bindDn.*\n.*password/s);
    expect(() => loadConfig(directoryConfigSchema, { env: { CG_RANGES__GID__MIN: '10', CG_RANGES__GID__MAX: '5' } })).to.throw(ConfigError, /min must not exceed max/);
    expect(() => loadConfig(directoryConfigSchema, { env: { CG_LDAP__URL: 'http://x', CG_LDAP__BIND_DN: 'x', CG_LDAP__PASSWORD: 'y' } })).to.throw(ConfigError, /ldap\.url/);
    expect(() => loadConfig(directoryConfigSchema, { env: { CG_LDAP__MAX_CONCURRENCY: '5000' } })).to.throw(ConfigError, /maxConcurrency/);
  });
});
