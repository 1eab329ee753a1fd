/**
 * Issue 10: renewing a certificate (same subject, same CA) must never lock its owner out of the
 * storage. The portal refreshes the stored expiry at the certificate login, and the map keeps the
 * DN after the old certificate's date whether or not she has logged in with the new one.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Directory } from '../../../core/directory/index.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { agentSectionSchema, type AgentSection } from '../../../mapper-agent/config.js';
import { syncMap } from '../../../mapper-agent/map/sync.js';
import { accountForLogin, parseRegistration, register } from '../../../server/services/accounts.js';
import type { AuditEvent, ServiceContext } from '../../../server/services/context.js';
import { useManagedSlapd } from '../../support/slapd.js';

describe('renewal with the same subject (real slapd, portal services, map sync)', function () {
  const fx = useManagedSlapd();
  let ctx: ServiceContext;
  let agent: AgentSection;
  const events: AuditEvent[] = [];
  const subject = '/DC=org/DC=example/O=Observatory/CN=Renate Renewer';
  const issuer = '/DC=org/DC=example/CN=Test CA';
  const oldNotAfter = new Date('2027-01-01T00:00:00Z');
  const newNotAfter = new Date('2028-01-01T00:00:00Z');
  const lines = () => readFileSync(agent.multimapPath, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  const login = { isAdmin: false, identity: subject, ip: '127.0.0.1' };

  before(async () => {
    ctx = { directory: new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) }), audit: { append: (e) => events.push(e) } };
    const state = mkdtempSync(join(tmpdir(), 'cg-renewal-'));
    agent = agentSectionSchema.parse({ stateDir: state, multimapPath: join(state, 'multi-mapfile'), oidcAliases: {} });
    await register(ctx, login, { type: 'x509', subject, issuer, notAfter: oldNotAfter },
      parseRegistration({ username: 'renate', displayName: 'Renate Renewer', email: 'renate@example.org', acceptPolicy: 'p1' }, 'p1'));
  });

  it('keeps the line after the old certificate\'s date, before and after a login with the renewed certificate', async () => {
    const afterOld = new Date('2027-06-01T00:00:00Z');
    await syncMap(fx.agent, fx.slapd.baseDn, agent, { now: afterOld });
    expect(lines().filter((l) => l.startsWith(`"dn:${subject}" username:renate `)), 'not yet logged in with the renewed certificate').to.have.length(1);

    await accountForLogin(ctx, { type: 'x509', subject, issuer, notAfter: newNotAfter }, login);
    const stored = await ctx.directory.identities.get({ type: 'x509', subject });
    expect(stored!.certNotAfter!.toISOString(), 'the login stored the renewed expiry').to.equal(newNotAfter.toISOString());
    expect(events.filter((e) => e.action === 'account.login').at(-1)!.details).to.include({ notAfter: newNotAfter.toISOString() });

    const outcome = await syncMap(fx.agent, fx.slapd.baseDn, agent, { now: afterOld });
    expect(lines().filter((l) => l.startsWith(`"dn:${subject}" username:renate `))).to.have.length(1);
    expect(outcome.skipped).to.not.have.property('expired');
    // Even after the renewed certificate's date: dCache refuses the certificate at TLS, the map does not need to.
    await syncMap(fx.agent, fx.slapd.baseDn, agent, { now: new Date('2029-01-01T00:00:00Z') });
    expect(lines().filter((l) => l.startsWith(`"dn:${subject}" username:renate `))).to.have.length(1);
  });
});
