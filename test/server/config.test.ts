import { expect } from 'chai';
import { loadConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { portalConfigSchema, servePortalConfigSchema } from '../../server/config.js';

const serve = (env: Record<string, string>) => () => loadConfig(servePortalConfigSchema, { env });

describe('server/config', () => {
  const tls = { CG_PORTAL__TLS__CERT_FILE: '/c.pem', CG_PORTAL__TLS__KEY_FILE: '/k.pem', CG_PORTAL__TLS__CLIENT_CA_FILES: '/ca.pem' };

  it('accepts a portal with TLS and certificate login; audit commands need neither', () => {
    expect(serve(tls)).to.not.throw();
    expect(() => loadConfig(portalConfigSchema, { env: { CG_PORTAL__DATA_DIR: '/tmp/x' } })).to.not.throw();
  });

  it('needs TLS unless a reverse proxy ends it, and both TLS files together', () => {
    expect(serve({ CG_PORTAL__TLS__CLIENT_CA_FILES: '/ca.pem' })).to.throw(ConfigError, /portal\.tls\.certFile: tls\.certFile and keyFile are required/);
    expect(serve({ ...tls, CG_PORTAL__TLS__KEY_FILE: '' })).to.throw(ConfigError, /portal\.tls\.keyFile: give tls\.certFile and tls\.keyFile together/);
  });

  it('needs a login method, and trusted proxy addresses for certificates forwarded by a proxy', () => {
    expect(serve({ CG_PORTAL__TLS__CERT_FILE: '/c.pem', CG_PORTAL__TLS__KEY_FILE: '/k.pem' })).to.throw(ConfigError, /portal\.tls\.clientCaFiles: configure/);
    expect(serve({ CG_PORTAL__REVERSE_PROXY__ENABLED: 'true', CG_PORTAL__TLS__CLIENT_CA_FILES: '/ca.pem' })).to.throw(ConfigError, /portal\.reverseProxy\.trustedAddresses/);
    expect(serve({ CG_PORTAL__REVERSE_PROXY__ENABLED: 'true', CG_PORTAL__REVERSE_PROXY__TRUSTED_ADDRESSES: '127.0.0.1', CG_PORTAL__TLS__CLIENT_CA_FILES: '/ca.pem' })).to.not.throw();
  });

  it('complianceReports: agent hosts as grid DNs (one a line from the environment), only with a trust directory', () => {
    const hosts = '/DC=org/DC=example/CN=store1.example.org\n/O=Example, Inc./CN=store2.example.org';
    const cfg = serve({ ...tls, CG_PORTAL__COMPLIANCE_REPORTS__AGENT_HOSTS: hosts, CG_PORTAL__COMPLIANCE_REPORTS__STALE_HOURS: '12' })();
    expect(cfg.portal.complianceReports.agentHosts, 'a comma inside a DN is kept').to.deep.equal(['/DC=org/DC=example/CN=store1.example.org', '/O=Example, Inc./CN=store2.example.org']);
    expect(cfg.portal.complianceReports.staleHours).to.equal(12);
    expect(serve({ ...tls, CG_PORTAL__COMPLIANCE_REPORTS__AGENT_HOSTS: 'CN=store1,DC=example,DC=org' })).to.throw(ConfigError, /portal\.complianceReports\.agentHosts\.0: a grid DN in slash form/);
    const noTrust = servePortalConfigSchema.safeParse({ portal: { tls: { certFile: '/c', keyFile: '/k' }, oidcProviders: [{ id: 'iam', name: 'iam', issuer: 'https://a.example/', clientId: 'c' }], complianceReports: { agentHosts: ['/CN=store1'] } } });
    expect(noTrust.error!.issues.map((i) => i.path.join('.'))).to.deep.equal(['portal.complianceReports.agentHosts']);
  });

  it('checks OIDC providers against each other and the staff issuer', () => {
    const provider = (id: string, issuer: string) => ({ id, name: id, issuer, clientId: 'c' });
    const parse = (portal: Record<string, unknown>) => servePortalConfigSchema.safeParse({ portal: { tls: { certFile: '/c', keyFile: '/k' }, ...portal } });
    const twice = parse({ oidcProviders: [provider('iam', 'https://a.example/'), provider('iam', 'https://b.example/')] });
    expect(twice.success).to.equal(false);
    expect(twice.error!.issues.map((i) => i.path.join('.'))).to.deep.equal(['portal.oidcProviders.1.id']);
    const staff = parse({ oidcProviders: [provider('iam', 'https://a.example/')], staff: { issuer: 'https://other.example/' } });
    expect(staff.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).to.deep.equal(['portal.staff.issuer: must be the issuer of one of oidcProviders']);
  });

  it('names the closest key for a typo', () => {
    expect(serve({ ...tls, CG_PORTAL__TLS__CRL_FILE: '/crl' })).to.throw(ConfigError, /portal\.tls\.crlFile: unknown key "crlFile"; did you mean "crlFiles"\?/);
  });
});
