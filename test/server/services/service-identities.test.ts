import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDirectory, repairDirectory } from '../../../core/directory/consistency.js';
import { Directory, IdentityBoundElsewhereError } from '../../../core/directory/index.js';
import { ConflictError, ForbiddenError, ValidationError } from '../../../core/errors.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { agentSectionSchema } from '../../../mapper-agent/config.js';
import { syncMap } from '../../../mapper-agent/map/sync.js';
import { accountForLogin } from '../../../server/services/accounts.js';
import { createCampaign, deleteAccount } from '../../../server/services/administration.js';
import type { Actor, AuditEvent, ServiceContext } from '../../../server/services/context.js';
import { addMember, removeMember } from '../../../server/services/memberships.js';
import { bindServiceIdentity, createServiceIdentity, listServiceIdentities } from '../../../server/services/service-identities.js';
import { useManagedSlapd } from '../../support/slapd.js';

const cert = (cn: string) => ({ type: 'x509' as const, subject: `/DC=org/DC=example/CN=${cn}`, issuer: '/DC=org/DC=example/CN=Test CA' });
const ROBOT_READER = '/DC=org/DC=example/OU=robots/CN=Robot: website download';
const ROBOT_RUCIO = '/DC=org/DC=example/OU=robots/CN=Robot: rucio fts';
const IAM = 'https://iam.example.org/';

describe('service identities (real slapd)', function () {
  const fx = useManagedSlapd();
  let ctx: ServiceContext;
  let dir: Directory;
  const events: AuditEvent[] = [];
  const admin: Actor = { username: 'root1', isAdmin: true, identity: 'test:root1', ip: '127.0.0.1' };
  const plain: Actor = { username: 'pat', isAdmin: false, identity: 'test:pat', ip: '127.0.0.1' };

  before(async () => {
    dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
    ctx = { directory: dir, audit: { append: (e) => events.push(e) } };
    await dir.people.create({ username: 'root1', displayName: 'Admin', roles: ['admin'] });
    await dir.people.create({ username: 'pat', displayName: 'Pat PI' });
    await dir.campaigns.create({ name: 'early', pi: 'pat', embargoEnd: new Date('2099-01-01T00:00:00Z') });
  });

  it('only admins create service identities; role and reason are required and audited', async () => {
    const forbidden = await createServiceIdentity(ctx, plain, { username: 'webdl', role: 'public-reader', description: 'Website', reason: 'downloads' }).catch((e: unknown) => e);
    expect(forbidden).to.be.instanceOf(ForbiddenError);
    const noReason = await createServiceIdentity(ctx, admin, { username: 'webdl', role: 'public-reader', description: 'Website', reason: '' }).catch((e: unknown) => e);
    expect(noReason).to.be.instanceOf(ValidationError).with.property('message').that.matches(/reason/);
    const badRole = await createServiceIdentity(ctx, admin, { username: 'webdl', role: 'superuser', description: 'Website', reason: 'downloads' }).catch((e: unknown) => e);
    expect(badRole).to.be.instanceOf(ValidationError);

    const reader = await createServiceIdentity(ctx, admin, { username: 'webdl', role: 'public-reader', description: 'Website download', reason: 'public downloads of the website' });
    expect(reader.serviceRole).to.equal('public-reader');
    expect(reader.status).to.equal('active');
    expect(reader.uidNumber).to.be.within(10000, 59999);
    const created = events.find((e) => e.action === 'service.create' && e.target === 'webdl')!;
    expect(created.details).to.deep.include({ role: 'public-reader', uidNumber: reader.uidNumber, reason: 'public downloads of the website' });
    expect(created.actor).to.equal('root1');
    await createServiceIdentity(ctx, admin, { username: 'rucio', role: 'replication', description: 'Rucio / FTS', reason: 'replication to tier 1' });
    await createServiceIdentity(ctx, admin, { username: 'cam1', role: 'instrument', description: 'Camera 1', reason: 'landing area writer' });
  });

  it('a replication identity joins every existing campaign at creation (audited) and every campaign created later', async () => {
    expect((await dir.campaigns.require('early')).members).to.include('rucio');
    expect(events.some((e) => e.action === 'membership.add' && e.target === 'early' && e.details?.member === 'rucio')).to.equal(true);
    const later = await createCampaign(ctx, admin, { name: 'later', pi: 'pat', embargoEnd: '2099-06-30' });
    expect(later.members).to.have.members(['pat', 'rucio']);
    expect((await dir.campaigns.ofMember('rucio')).map((c) => c.name)).to.deep.equal(['early', 'later']);
  });

  it('a replication identity is never PI and stays a member', async () => {
    const pi = await createCampaign(ctx, admin, { name: 'robotpi', pi: 'rucio' }).catch((e: unknown) => e);
    expect(pi).to.be.instanceOf(ValidationError).with.property('message').that.matches(/cannot be the PI/);
    const removed = await removeMember(ctx, admin, 'early', 'rucio').catch((e: unknown) => e);
    expect(removed).to.be.instanceOf(ConflictError).with.property('message').that.matches(/stays a member/);
    expect((await dir.campaigns.require('early')).members).to.include('rucio');
    const ended = await dir.campaigns.setMemberUntil('early', 'rucio', new Date('2099-01-01T00:00:00Z')).catch((e: unknown) => e);
    expect(ended).to.be.instanceOf(ValidationError).with.property('message').that.matches(/no end/);
    expect((await dir.campaigns.require('early')).memberUntil).to.not.have.property('rucio');
  });

  it('public-reader and instrument identities are refused as members and as PI', async () => {
    for (const username of ['webdl', 'cam1']) {
      const added = await addMember(ctx, admin, 'early', username, new Date('2099-01-01T00:00:00Z')).catch((e: unknown) => e);
      expect(added, username).to.be.instanceOf(ValidationError).with.property('message').that.matches(/never a member/);
      const direct = await dir.campaigns.addMember('early', username).catch((e: unknown) => e);
      expect(direct, username).to.be.instanceOf(ValidationError);
      const pi = await dir.campaigns.create({ name: `pi-${username}`, pi: username }).catch((e: unknown) => e);
      expect(pi, username).to.be.instanceOf(ValidationError);
      expect(await dir.campaigns.ofMember(username), username).to.deep.equal([]);
      expect((await dir.campaigns.require('early')).memberUntil, username).to.not.have.property(username);
    }
  });

  it('admins bind a robot certificate or an OIDC client; collisions are refused; the portal refuses their login', async () => {
    await bindServiceIdentity(ctx, admin, 'webdl', { type: 'x509', subject: ROBOT_READER, issuer: '/DC=org/DC=example/CN=Test CA' }, 'robot certificate of the website');
    await bindServiceIdentity(ctx, admin, 'rucio', { type: 'x509', subject: ROBOT_RUCIO }, 'FTS robot certificate');
    await bindServiceIdentity(ctx, admin, 'rucio', { type: 'oidc', issuer: IAM, subject: 'rucio-client' }, 'Rucio OIDC client');
    expect(events.filter((e) => e.action === 'identity.bind' && e.details?.account === 'rucio').length).to.equal(2);
    const twice = await bindServiceIdentity(ctx, admin, 'cam1', { type: 'x509', subject: ROBOT_RUCIO }, 'wrong').catch((e: unknown) => e);
    expect(twice).to.be.instanceOf(IdentityBoundElsewhereError);
    const person = await bindServiceIdentity(ctx, admin, 'pat', cert('Pat'), 'not a service').catch((e: unknown) => e);
    expect(person).to.be.instanceOf(ValidationError);
    const byPlain = await bindServiceIdentity(ctx, plain, 'webdl', cert('X'), 'no').catch((e: unknown) => e);
    expect(byPlain).to.be.instanceOf(ForbiddenError);
    const login = await accountForLogin(ctx, { type: 'x509', subject: ROBOT_READER }).catch((e: unknown) => e);
    expect(login).to.be.instanceOf(ForbiddenError).with.property('message').that.matches(/cannot log in to the portal/);

    const listed = await listServiceIdentities(ctx, admin);
    expect(listed.map((s) => [s.person.username, s.person.serviceRole, s.identities.length])).to.deep.equal([
      ['cam1', 'instrument', 0], ['rucio', 'replication', 2], ['webdl', 'public-reader', 1],
    ]);
  });

  it('they appear in the map like people: the public reader with no campaign gid, replication with every campaign gid', async () => {
    const state = mkdtempSync(join(tmpdir(), 'cg-agent-'));
    const agent = agentSectionSchema.parse({
      stateDir: state, multimapPath: join(state, 'multi-mapfile'), gridMapfilePath: join(state, 'grid-mapfile'), jsonSnapshotPath: join(state, 'map.json'),
      oidcAliases: { [IAM]: 'iam' },
    });
    await syncMap(fx.agent, fx.slapd.baseDn, agent);
    const lines = readFileSync(agent.multimapPath, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    const webdl = await dir.people.require('webdl');
    const rucio = await dir.people.require('rucio');
    const early = await dir.campaigns.require('early');
    const later = await dir.campaigns.require('later');
    expect(lines).to.include(`"dn:${ROBOT_READER}" username:webdl uid:${webdl.uidNumber} gid:${webdl.gidNumber},true`);
    const gids = [early.gidNumber, later.gidNumber].sort((a, b) => a - b).map((g) => `gid:${g}`).join(' ');
    expect(lines).to.include(`"dn:${ROBOT_RUCIO}" username:rucio uid:${rucio.uidNumber} gid:${rucio.gidNumber},true ${gids}`);
    expect(lines.some((l) => l.startsWith('"oidc:rucio-client@iam"') && l.includes(`uid:${rucio.uidNumber}`))).to.equal(true);
    rmSync(state, { recursive: true, force: true });
  });

  it('a replication identity can be deleted (its memberships go with it, audited)', async () => {
    await createServiceIdentity(ctx, admin, { username: 'rucio2', role: 'replication', description: 'Old FTS', reason: 'to be retired' });
    expect((await dir.campaigns.ofMember('rucio2')).length).to.equal(2);
    await deleteAccount(ctx, admin, 'rucio2', 'rucio2');
    expect(await dir.people.get('rucio2')).to.equal(undefined);
    expect(await dir.campaigns.ofMember('rucio2')).to.deep.equal([]);
    expect(events.filter((e) => e.action === 'membership.remove' && e.details?.member === 'rucio2')).to.have.length(2);
  });

  it('doctor finds a service identity outside its scope (planted by hand) and repairs it', async () => {
    const early = await dir.campaigns.require('early');
    const later = await dir.campaigns.require('later');
    await fx.admin.modify(later.dn, [{ operation: 'delete', attribute: 'memberUid', values: ['rucio'] }]);
    await fx.admin.modify(early.dn, [{ operation: 'add', attribute: 'memberUid', values: ['webdl'] }]);
    const scope = (await checkDirectory(dir)).filter((f) => f.check === 'service-scope');
    expect(scope.map((f) => f.detail).sort()).to.deep.equal(['public-reader identity webdl is a member of campaign early', 'replication identity rucio is not a member of campaign later']);
    expect(scope.every((f) => f.safe)).to.equal(true);
    const outcome = await repairDirectory(dir, scope);
    expect(outcome.fixed).to.have.length(2);
    expect((await checkDirectory(dir)).filter((f) => f.check === 'service-scope')).to.deep.equal([]);
    expect((await dir.campaigns.require('later')).members).to.include('rucio');
    expect((await dir.campaigns.require('early')).members).to.not.include('webdl');
  });

  describe('on real files (a process under the identity\'s uid and groups)', function () {
    let root: string;
    let embargoed: string;
    let released: string;

    before(async function () {
      if (process.getuid?.() !== 0) this.skip();
      const pat = await dir.people.require('pat');
      const early = await dir.campaigns.require('early');
      root = mkdtempSync(join(tmpdir(), 'cg-service-'));
      chmodSync(root, 0o755);
      mkdirSync(join(root, 'early'), { mode: 0o755 });
      chmodSync(join(root, 'early'), 0o755);
      embargoed = join(root, 'early', 'embargoed.fits');
      released = join(root, 'early', 'public.fits');
      writeFileSync(embargoed, 'SIMPLE  = T embargoed');
      writeFileSync(released, 'SIMPLE  = T public');
      chownSync(embargoed, pat.uidNumber, early.gidNumber);
      chmodSync(embargoed, 0o640);
      chownSync(released, pat.uidNumber, early.gidNumber);
      chmodSync(released, 0o644);
    });

    after(() => {
      if (root) rmSync(root, { recursive: true, force: true });
    });

    /** Read `file` as uid/gid with exactly these supplementary groups (setpriv: node's spawn cannot set them). */
    const readAs = (uid: number, gid: number, groups: number[], file: string) =>
      spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(gid), groups.length ? `--groups=${groups.join(',')}` : '--clear-groups', 'cat', file], { encoding: 'utf8' });

    it('the public reader (node process under its uid/gid, no groups) cannot open the embargoed file but opens the public one', async () => {
      const webdl = await dir.people.require('webdl');
      const groups = (await dir.campaigns.ofMember('webdl')).map((c) => c.gidNumber);
      expect(groups).to.deep.equal([]);
      const run = (file: string) => spawnSync(process.execPath, ['-e', `process.stdout.write(require('node:fs').readFileSync(${JSON.stringify(file)}, 'utf8'))`], { uid: webdl.uidNumber, gid: webdl.gidNumber, encoding: 'utf8' });
      const denied = run(embargoed);
      expect(denied.status).to.not.equal(0);
      expect(denied.stderr).to.match(/EACCES/);
      const ok = run(released);
      expect(ok.status, ok.stderr).to.equal(0);
      expect(ok.stdout).to.equal('SIMPLE  = T public');
      // The same with setpriv and its directory groups (none).
      expect(readAs(webdl.uidNumber, webdl.gidNumber, groups, embargoed).stderr).to.match(/Permission denied/);
      expect(readAs(webdl.uidNumber, webdl.gidNumber, groups, released).status).to.equal(0);
    });

    it('the replication identity (supplementary groups = its campaign gids from the directory) reads both', async () => {
      const rucio = await dir.people.require('rucio');
      const groups = (await dir.campaigns.ofMember('rucio')).map((c) => c.gidNumber);
      expect(groups).to.include((await dir.campaigns.require('early')).gidNumber);
      const emb = readAs(rucio.uidNumber, rucio.gidNumber, groups, embargoed);
      expect(emb.status, emb.stderr).to.equal(0);
      expect(emb.stdout).to.equal('SIMPLE  = T embargoed');
      expect(readAs(rucio.uidNumber, rucio.gidNumber, groups, released).stdout).to.equal('SIMPLE  = T public');
    });

    it('the instrument identity (no campaign groups) cannot read the embargoed file', async () => {
      const cam = await dir.people.require('cam1');
      expect(readAs(cam.uidNumber, cam.gidNumber, [], embargoed).status).to.not.equal(0);
    });
  });
});
