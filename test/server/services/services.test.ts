import { expect } from 'chai';
import { Directory, IdentityBoundElsewhereError } from '../../../core/directory/index.js';
import { ConflictError, ForbiddenError, ValidationError } from '../../../core/errors.js';
import type { Actor, AuditEvent, ServiceContext } from '../../../server/services/context.js';
import { accountForLogin, bindIdentity, parseRegistration, register, unbindIdentity } from '../../../server/services/accounts.js';
import { decide, decidableRequests, permissionsFor, removeMember, requestToJoin } from '../../../server/services/memberships.js';
import { changeEmbargo, changeProprietaryPeriod, createCampaign, deleteAccount, parseEmbargoDate, setIdentityStatus } from '../../../server/services/administration.js';
import { setAccountStatusFor } from '../../../server/services/safer-admin.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { useManagedSlapd } from '../../support/slapd.js';

const POLICY = 'aup-2026-01';
const cert = (cn: string) => ({ type: 'x509' as const, subject: `/DC=org/DC=example/CN=${cn}`, issuer: '/DC=org/DC=example/CN=Test CA' });

describe('server/services (real slapd)', function () {
  const fx = useManagedSlapd();
  let ctx: ServiceContext;
  const events: AuditEvent[] = [];
  const actor = (username: string | undefined, isAdmin = false): Actor => ({ username, isAdmin, identity: `test:${username}`, ip: '127.0.0.1' });
  const form = (username: string) => parseRegistration({ username, displayName: `${username} Example`, email: `${username}@example.org`, acceptPolicy: POLICY }, POLICY);

  before(async () => {
    const directory = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
    ctx = { directory, audit: { append: (e) => events.push(e) } };
    const admin = await directory.people.create({ username: 'root1', displayName: 'Admin', roles: ['admin'] });
    await directory.identities.bind(admin.username, cert('Admin'));
  });

  describe('registration', () => {
    it('validates the form and the policy version', () => {
      expect(() => parseRegistration({ username: 'Bad Name', displayName: '', email: 'x', acceptPolicy: POLICY }, POLICY))
        .to.throw(ValidationError, /username/).and.match(/full name/);
      expect(() => parseRegistration({ username: 'ok', displayName: 'Ok', email: 'ok@example.org', acceptPolicy: 'old' }, POLICY)).to.throw(ValidationError, /usage policy/);
      // Each problem names its field (the form shows it beside the field), the unticked box included.
      const paths = (input: Record<string, string>) => { try { parseRegistration(input, POLICY); return []; } catch (e) { return (e as ValidationError).issues.map((i) => `${i.path}: ${i.message}`); } };
      expect(paths({ username: 'ok', displayName: 'Ok', email: 'ok@example.org' })).to.deep.equal(['acceptPolicy: you must accept the usage policy']);
      expect(paths({ username: 'ok', displayName: 'Ok', email: 'ok@example.org', acceptPolicy: 'old' })).to.deep.equal([`acceptPolicy: you must accept the current usage policy (${POLICY})`]);
      expect(paths({ username: 'Bad', displayName: 'Ok', email: 'nope', acceptPolicy: POLICY }).map((p) => p.split(':')[0])).to.deep.equal(['username', 'email']);
      expect(() => parseRegistration({ username: 'ok', displayName: 'Ok\u0000', email: 'ok@example.org', acceptPolicy: POLICY }, POLICY)).to.throw(ValidationError, /control/);
    });

    it('creates the account, allocates a UID and binds the login identity, all audited', async () => {
      const person = await register(ctx, actor(undefined), cert('Alice'), form('alice'));
      expect(person.uidNumber).to.be.within(10000, 59999);
      expect((await accountForLogin(ctx, cert('Alice')))!.username).to.equal('alice');
      expect(events.filter((e) => e.target === 'alice' || e.details?.account === 'alice').map((e) => e.action)).to.deep.equal(['account.create', 'identity.bind']);
    });

    it('refuses an identity that is already bound, and a taken username', async () => {
      const err = await register(ctx, actor(undefined), cert('Alice'), form('alice2')).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(IdentityBoundElsewhereError);
      const taken = await register(ctx, actor(undefined), cert('Other'), form('alice')).catch((e: unknown) => e);
      expect(taken).to.be.instanceOf(ConflictError).with.property('message').that.matches(/username alice is taken/);
    });

    it('two racing registrations with one certificate: exactly one account holds it', async () => {
      const results = await Promise.allSettled([
        register(ctx, actor(undefined), cert('Racer'), form('racer1')),
        register(ctx, actor(undefined), cert('Racer'), form('racer2')),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      const owner = await accountForLogin(ctx, cert('Racer'));
      const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(loser.reason).to.be.instanceOf(ConflictError);
      const other = owner!.username === 'racer1' ? 'racer2' : 'racer1';
      expect(await ctx.directory.people.get(other)).to.equal(undefined);
    });
  });

  describe('identities', () => {
    it('binds a second certificate, refuses one bound elsewhere, keeps the last one', async () => {
      await bindIdentity(ctx, actor('alice'), cert('Alice Renewed'));
      const err = await bindIdentity(ctx, actor('alice'), cert('Admin')).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(IdentityBoundElsewhereError).with.property('message').that.matches(/already bound to another account/);
      const mine = await ctx.directory.identities.listForPerson('alice');
      expect(mine.map((i) => i.certSubject).sort()).to.deep.equal([cert('Alice').subject, cert('Alice Renewed').subject]);
      await unbindIdentity(ctx, actor('alice'), mine[0]!.key);
      const last = (await ctx.directory.identities.listForPerson('alice'))[0]!;
      expect(await unbindIdentity(ctx, actor('alice'), last.key).catch((e: unknown) => e)).to.be.instanceOf(ConflictError);
    });

    it("never lets a user remove another user's identity", async () => {
      const admins = await ctx.directory.identities.listForPerson('root1');
      expect(await unbindIdentity(ctx, actor('alice'), admins[0]!.key).catch((e: unknown) => e)).to.be.instanceOf(ForbiddenError);
      expect(await ctx.directory.identities.listForPerson('root1')).to.have.length(1);
    });

    it('refuses login of a suspended account', async () => {
      await register(ctx, actor(undefined), cert('Sam'), form('sam'));
      await setAccountStatusFor(ctx, actor('root1', true), 'sam', 'suspended', 'left the project');
      expect(await accountForLogin(ctx, cert('Sam')).catch((e: unknown) => e)).to.be.instanceOf(ForbiddenError).with.property('message').that.matches(/suspended/);
      await setAccountStatusFor(ctx, actor('root1', true), 'sam', 'active', 'came back');
      expect((await accountForLogin(ctx, cert('Sam')))!.username).to.equal('sam');
    });
  });

  describe('certificate logins', () => {
    it('are audited with subject and issuer; a renewal extends the stored expiry, an old certificate never shortens it; a new issuer is audited', async () => {
      const subject = '/DC=org/DC=example/CN=Renate';
      const first = { type: 'x509' as const, subject, issuer: '/DC=org/DC=example/CN=Test CA', notAfter: new Date('2027-01-01T00:00:00Z') };
      await register(ctx, actor(undefined), first, form('renate'));
      const from = events.length;
      await accountForLogin(ctx, { ...first, notAfter: new Date('2028-01-01T00:00:00Z') }, actor(undefined));
      expect((await ctx.directory.identities.get({ type: 'x509', subject }))!.certNotAfter!.toISOString(), 'renewed: the later expiry').to.equal('2028-01-01T00:00:00.000Z');
      await accountForLogin(ctx, first, actor(undefined));
      expect((await ctx.directory.identities.get({ type: 'x509', subject }))!.certNotAfter!.toISOString(), 'the old certificate again: unchanged').to.equal('2028-01-01T00:00:00.000Z');
      await accountForLogin(ctx, { ...first, issuer: '/DC=org/DC=example/CN=Test CA 2' }, actor(undefined));
      const records = events.slice(from).map((e) => `${e.action} ${e.actor} ${String(e.details?.issuer ?? e.details?.to ?? '')}`);
      expect(records).to.deep.equal([
        'account.login renate /DC=org/DC=example/CN=Test CA',
        'account.login renate /DC=org/DC=example/CN=Test CA',
        'identity.issuer-change renate /DC=org/DC=example/CN=Test CA 2',
        'account.login renate /DC=org/DC=example/CN=Test CA 2',
      ]);
      expect(events[events.length - 2]!.details).to.include({ from: '/DC=org/DC=example/CN=Test CA' });
      expect((await ctx.directory.identities.get({ type: 'x509', subject }))!.certIssuer).to.equal('/DC=org/DC=example/CN=Test CA 2');
    });
  });

  describe('identities dCache would confuse (gPlazma aliases configured)', () => {
    // dCache GplazmaMultiMapFile: dn: matches any principal of that name (an OIDC login is "sub@alias");
    // oidc:S@A also matches a login whose sub is the whole "S@A".
    it('refuses an OIDC identity named like another account\'s certificate, a certificate named like another\'s OIDC login, and legacy oidc: clashes', async () => {
      const IAM = 'https://iam.example.org/';
      const OTHER = 'https://other.example.org/';
      const c = { ...ctx, gplazmaAliases: new Map([[IAM, 'iam'], [OTHER, 'other']]) };
      const victim = { type: 'x509' as const, subject: '/DC=org/CN=vic@iam' };
      await register(c, actor(undefined), victim, form('vic'));
      const mallory = await register(c, actor(undefined), { type: 'oidc', issuer: IAM, subject: '/DC=org/CN=vic' }, form('mallory')).catch((e: unknown) => e);
      expect(mallory).to.be.instanceOf(ConflictError).with.property('message').that.matches(/named \/DC=org\/CN=vic@iam, which is another account's certificate subject/);
      await register(c, actor(undefined), { type: 'oidc', issuer: IAM, subject: '/DC=org/CN=olly' }, form('olly'));
      const cert = await register(c, actor(undefined), { type: 'x509', subject: '/DC=org/CN=olly@iam' }, form('certy')).catch((e: unknown) => e);
      expect(cert).to.be.instanceOf(ConflictError).with.property('message').that.matches(/OIDC login of iam named \/DC=org\/CN=olly@iam/);
      await register(c, actor(undefined), { type: 'oidc', issuer: IAM, subject: 'x' }, form('carol'));
      const eve = await register(c, actor(undefined), { type: 'oidc', issuer: OTHER, subject: 'x@iam' }, form('eve')).catch((e: unknown) => e);
      expect(eve).to.be.instanceOf(ConflictError).with.property('message').that.matches(/would match another account's line oidc:x@iam/);
      expect(await ctx.directory.people.get('mallory')).to.equal(undefined);
    });
  });

  describe('revocation sticks', () => {
    it('a revoked identity cannot be removed and bound again by its owner; only an admin lifts it, with a reason', async () => {
      const rita = await register(ctx, actor(undefined), cert('Rita'), form('rita'));
      await bindIdentity(ctx, actor('rita'), cert('Rita laptop'));
      const key = (await ctx.directory.identities.listForPerson('rita')).find((i) => i.certSubject === cert('Rita laptop').subject)!.key;
      expect(await setIdentityStatus(ctx, actor('rita'), key, 'revoked', 'lost laptop').catch((e: unknown) => e), 'not by the owner').to.be.instanceOf(ForbiddenError);
      expect(await setIdentityStatus(ctx, actor('root1', true), key, 'revoked', '').catch((e: unknown) => e), 'a reason').to.be.instanceOf(ValidationError);
      await setIdentityStatus(ctx, actor('root1', true), key, 'revoked', 'laptop stolen');
      expect(await accountForLogin(ctx, cert('Rita laptop')).catch((e: unknown) => e)).to.be.instanceOf(ForbiddenError);
      // The round trip of the attack: log in with the other certificate, remove the revoked one, bind it again.
      const removed = await unbindIdentity(ctx, actor('rita'), key).catch((e: unknown) => e);
      expect(removed).to.be.instanceOf(ForbiddenError).with.property('message').that.matches(/stays on the account until an admin reinstates it/);
      const rebound = await bindIdentity(ctx, actor('rita'), cert('Rita laptop')).catch((e: unknown) => e);
      expect(rebound instanceof Error ? 'refused' : (rebound as { status: string }).status, 'binding again does not reactivate it').to.be.oneOf(['refused', 'revoked']);
      expect(await accountForLogin(ctx, cert('Rita laptop')).catch((e: unknown) => e), 'still refused').to.be.instanceOf(ForbiddenError);
      await setIdentityStatus(ctx, actor('root1', true), key, 'active', 'laptop recovered, key rotated');
      expect((await accountForLogin(ctx, cert('Rita laptop')))!.uidNumber).to.equal(rita.uidNumber);
      expect(events.filter((e) => e.details?.account === 'rita' && /identity\.(revoke|reinstate)/.test(e.action)).map((e) => `${e.action}: ${String(e.details?.reason)}`))
        .to.deep.equal(['identity.revoke: laptop stolen', 'identity.reinstate: laptop recovered, key rotated']);
    });
  });

  describe('campaigns and PI approval', () => {
    before(async () => {
      await register(ctx, actor(undefined), cert('Pat'), form('pat'));
      await register(ctx, actor(undefined), cert('Bob'), form('bob'));
    });

    it('only admins create campaigns; dates and names are validated', async () => {
      expect(await createCampaign(ctx, actor('pat'), { name: 'flare', pi: 'pat' }).catch((e: unknown) => e)).to.be.instanceOf(ForbiddenError);
      expect(await createCampaign(ctx, actor('root1', true), { name: 'Bad!', pi: 'pat' }).catch((e: unknown) => e)).to.be.instanceOf(ValidationError);
      expect(() => parseEmbargoDate('2026-02-30')).to.throw(ValidationError, /not a calendar date/);
      const c = await createCampaign(ctx, actor('root1', true), { name: 'flare', pi: 'pat', embargoEnd: '2030-01-31', description: '*)(uid=*))(|(uid=*' });
      expect(c.embargoEnd!.toISOString()).to.equal('2030-01-31T23:59:59.000Z');
      expect(c.description).to.equal('*)(uid=*))(|(uid=*');
      expect(c.members).to.deep.equal(['pat']);
    });

    it('request, PI approval, membership; a non-PI cannot decide', async () => {
      const req = await requestToJoin(ctx, actor('alice'), 'flare', 'I analyse the flare spectra.');
      expect(await requestToJoin(ctx, actor('alice'), 'flare', 'again, please, now').catch((e: unknown) => e)).to.be.instanceOf(ConflictError);
      expect(await decide(ctx, actor('bob'), req.id, 'approved').catch((e: unknown) => e)).to.be.instanceOf(ForbiddenError);
      expect(await decidableRequests(ctx, actor('bob'), 'flare').catch((e: unknown) => e)).to.be.instanceOf(ForbiddenError);
      expect((await decidableRequests(ctx, actor('pat'))).map((r) => r.requester)).to.deep.equal(['alice']);
      await decide(ctx, actor('pat'), req.id, 'approved');
      const c = await ctx.directory.campaigns.require('flare');
      expect(c.members.sort()).to.deep.equal(['alice', 'pat']);
      const perms = await permissionsFor(ctx, actor('bob'), c);
      expect(perms).to.include({ canSeeMembers: false, canManage: false, canRequest: true });
      expect(events.map((e) => e.action)).to.include.members(['membership.request', 'membership.approve']);
    });

    it('deny is recorded; the PI removes members but not themselves', async () => {
      const req = await requestToJoin(ctx, actor('bob'), 'flare', 'Curious about flares.');
      await decide(ctx, actor('pat'), req.id, 'denied', 'not in the collaboration');
      expect((await ctx.directory.campaigns.require('flare')).members).to.not.include('bob');
      expect(await removeMember(ctx, actor('pat'), 'flare', 'pat').catch((e: unknown) => e)).to.be.instanceOf(ConflictError);
      await removeMember(ctx, actor('pat'), 'flare', 'alice');
      expect((await ctx.directory.campaigns.require('flare')).members).to.deep.equal(['pat']);
    });

    it('embargo changes need the admin role and a reason, and are audited with before/after', async () => {
      expect(await changeEmbargo(ctx, actor('pat'), 'flare', '2031-01-01', 'extension').catch((e: unknown) => e)).to.be.instanceOf(ForbiddenError);
      expect(await changeEmbargo(ctx, actor('root1', true), 'flare', '2031-01-01', '').catch((e: unknown) => e)).to.be.instanceOf(ValidationError);
      const c = await changeEmbargo(ctx, actor('root1', true), 'flare', '2031-06-30', 'instrument recalibration');
      expect(c.embargoEnd!.toISOString().slice(0, 10)).to.equal('2031-06-30');
      const e = events.filter((x) => x.action === 'embargo.change').pop()!;
      expect(e.details).to.deep.include({ from: '2030-01-31T23:59:59.000Z', to: '2031-06-30T23:59:59.000Z', reason: 'instrument recalibration' });
    });

    it('the proprietary period (rolling release) needs the admin role and a reason, is validated, and audited as an embargo change', async () => {
      expect(await changeProprietaryPeriod(ctx, actor('pat'), 'flare', '365', 'rolling').catch((e: unknown) => e)).to.be.instanceOf(ForbiddenError);
      expect(await changeProprietaryPeriod(ctx, actor('root1', true), 'flare', '365', '').catch((e: unknown) => e)).to.be.instanceOf(ValidationError);
      for (const bad of ['0', '-3', '1.5', 'P365D', '36501', 'abc']) {
        expect(await changeProprietaryPeriod(ctx, actor('root1', true), 'flare', bad, 'rolling release').catch((e: unknown) => e), bad).to.be.instanceOf(ValidationError);
      }
      const c = await changeProprietaryPeriod(ctx, actor('root1', true), 'flare', '365', 'rolling release agreed');
      expect(c.proprietaryDays).to.equal(365);
      expect(events.filter((x) => x.action === 'embargo.change').pop()!.details).to.deep.include({ proprietaryDaysFrom: null, proprietaryDaysTo: 365, reason: 'rolling release agreed' });
      const d = await changeProprietaryPeriod(ctx, actor('root1', true), 'flare', '', 'back to the campaign date');
      expect(d.proprietaryDays).to.equal(undefined);
      expect(events.filter((x) => x.action === 'embargo.change').pop()!.details).to.deep.include({ proprietaryDaysFrom: 365, proprietaryDaysTo: null });
    });

    it('deleting an account needs confirmation, audits everything it removes, and leaves its UID unused forever', async () => {
      const bob = await ctx.directory.people.require('bob');
      await ctx.directory.identities.bind('bob', { type: 'oidc', issuer: 'https://iam.example.org/', subject: 'bob-sub' });
      await ctx.directory.campaigns.addMember('flare', 'bob');
      await createCampaign(ctx, actor('root1', true), { name: 'archive', pi: 'pat' });
      const pending = await requestToJoin(ctx, actor('bob'), 'archive', 'I study the archive data.');
      expect(await deleteAccount(ctx, actor('root1', true), 'bob', 'nope').catch((e: unknown) => e)).to.be.instanceOf(ValidationError);
      const from = events.length;
      await deleteAccount(ctx, actor('root1', true), 'bob', 'bob');
      const records = events.slice(from).map((e) => `${e.action} ${e.target} ${String(e.details?.reason ?? '')}`);
      expect(records).to.include.members([
        'identity.unbind certificate subject /DC=org/DC=example/CN=Bob account deleted',
        'identity.unbind OIDC subject bob-sub at https://iam.example.org/ account deleted',
        'membership.remove flare account deleted',
        'membership.withdraw archive account deleted',
      ]);
      expect(records[records.length - 1]).to.match(/^account\.delete bob/);
      expect(events.slice(from).find((e) => e.action === 'membership.withdraw')!.details).to.include({ request: pending.id });
      const next = await register(ctx, actor(undefined), cert('Bob'), form('bobby'));
      expect(next.uidNumber).to.be.greaterThan(bob.uidNumber);
      expect(await register(ctx, actor(undefined), cert('Bob again'), form('bob')).catch((e: unknown) => e)).to.be.instanceOf(ConflictError);
    });
  });
});
