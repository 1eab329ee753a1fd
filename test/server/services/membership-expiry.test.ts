/**
 * Issue 10, membership expiry dates on real slapd with a real SMTP server on loopback: the PI sets
 * an end (on approval, on a direct add, on the members list), refusals, the expiry job removes the
 * memberUid and the cgMemberUntil value (audited membership.expire by the system), leaves unexpired
 * memberships alone, warns member and PI once per threshold, and cleans up after a crash between
 * its two writes.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDirectory, Directory } from '../../../core/directory/index.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../../core/errors.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { createLogger } from '../../../core/log.js';
import type { Actor, AuditEvent, ServiceContext } from '../../../server/services/context.js';
import { expireMemberships } from '../../../server/services/membership-expiry.js';
import { addMember, decide, leaveCampaign, parseMemberUntil, removeMember, requestToJoin, setMemberUntil } from '../../../server/services/memberships.js';
import { Notifier } from '../../../server/services/notifications.js';
import { readDirectory } from '../../../mapper-agent/map/directory-reader.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { startTestSmtp, type TestSmtp } from '../../support/smtp.js';

const DAY = 86_400_000;

describe('membership expiry dates (real slapd, real SMTP on loopback)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  const log = createLogger('test', 'silent');
  let ctx: ServiceContext;
  let notifier: Notifier;
  let smtp: TestSmtp;
  let dir: string;
  const events: AuditEvent[] = [];
  const actor = (username: string, isAdmin = false): Actor => ({ username, isAdmin, identity: `test:${username}`, ip: '127.0.0.1' });
  const untilValues = async (campaign: string) =>
    (await fx.portal.read(ctx.directory.layout.campaignDn(campaign), ['cgMemberUntil']))!.getAll('cgMemberUntil').sort();
  const members = async (campaign: string) => (await ctx.directory.campaigns.require(campaign)).members;

  async function verify(username: string): Promise<void> {
    const person = (await ctx.directory.people.get(username))!;
    await notifier.sendVerification(person);
    const mail = await smtp.waitFor((m) => m.to.includes(person.mail!) && /Confirm/.test(m.subject));
    const token = /\/verify-email\/([A-Za-z0-9_-]+)/.exec(mail.text)![1]!;
    expect(await notifier.confirm(token)).to.deep.equal({ username, address: person.mail });
  }

  before(async () => {
    smtp = await startTestSmtp();
    dir = mkdtempSync(join(tmpdir(), 'cg-membership-expiry-'));
    const directory = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
    notifier = new Notifier(join(dir, 'mail.sqlite'), directory, { smtpUrl: smtp.url, from: 'portal@campaign-guard.test', verifyHours: 1 }, 'https://portal.test/', log);
    ctx = { directory, audit: { append: (e) => events.push(e) }, notify: notifier };
    await directory.people.create({ username: 'root1', displayName: 'Admin', roles: ['admin'] });
    for (const u of ['pia', 'mel', 'ned', 'oli', 'pam']) await directory.people.create({ username: u, displayName: `${u} Example`, mail: `${u}@example.org` });
    await directory.campaigns.create({ name: 'sunspot', pi: 'pia' });
    for (const u of ['pia', 'mel', 'ned']) await verify(u);
  });
  after(async () => {
    notifier?.close();
    await smtp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('setting an end', () => {
    it('parses a form date (through that day, UTC) and refuses a past, malformed or impossible one', () => {
      const now = new Date('2027-03-01T12:00:00Z');
      expect(parseMemberUntil('', now)).to.equal(undefined);
      expect(parseMemberUntil(' 2027-03-31 ', now)!.toISOString()).to.equal('2027-03-31T23:59:59.000Z');
      expect(() => parseMemberUntil('2027-02-28', now)).to.throw(ValidationError, /in the future/);
      expect(() => parseMemberUntil('2027-02-30', now)).to.throw(ValidationError, /YYYY-MM-DD/);
      expect(() => parseMemberUntil('next week', now)).to.throw(ValidationError, /YYYY-MM-DD/);
      const err = (() => { try { parseMemberUntil('2020-01-01', now); } catch (e) { return e as ValidationError; } })()!;
      expect(err.issues[0]!.path).to.equal('until');
    });

    it('approval with an end: memberUid and one cgMemberUntil value, audited with the date', async () => {
      const until = new Date(Date.now() + 30 * DAY);
      const request = await requestToJoin(ctx, actor('mel'), 'sunspot', 'I reduce the sunspot magnetograms.');
      await decide(ctx, actor('pia'), request.id, 'approved', undefined, until);
      expect(await members('sunspot')).to.include('mel');
      expect(await untilValues('sunspot')).to.deep.equal([`mel ${gt(until)}`]);
      expect((await ctx.directory.campaigns.require('sunspot')).memberUntil.mel!.toISOString()).to.equal(wholeSeconds(until));
      expect(events.find((e) => e.action === 'membership.approve' && e.details?.requester === 'mel')!.details!.until).to.equal(until.toISOString());
      const mail = await smtp.waitFor((m) => m.to.includes('mel@example.org') && /approved/.test(m.subject));
      expect(mail.text).to.include(`The membership ends on ${until.toISOString().slice(0, 10)}`);
    });

    it('a direct add with an end; the PI changes it (one value stays) and clears it', async () => {
      const until = new Date(Date.now() + 20 * DAY);
      await addMember(ctx, actor('pia'), 'sunspot', 'ned', until);
      expect(await untilValues('sunspot')).to.include(`ned ${gt(until)}`);
      const later = new Date(Date.now() + 40 * DAY);
      await setMemberUntil(ctx, actor('pia'), 'sunspot', 'ned', later);
      expect((await untilValues('sunspot')).filter((v) => v.startsWith('ned '))).to.deep.equal([`ned ${gt(later)}`]);
      expect(events.filter((e) => e.action === 'membership.until').at(-1)).to.include({ actor: 'pia', target: 'sunspot' });
      await setMemberUntil(ctx, actor('root1', true), 'sunspot', 'ned', null);
      expect((await untilValues('sunspot')).filter((v) => v.startsWith('ned '))).to.deep.equal([]);
    });

    it('refuses a past date, a non-member, the PI, and anyone but the PI or an admin', async () => {
      const past = new Date(Date.now() - DAY);
      const future = new Date(Date.now() + 10 * DAY);
      expect(await setMemberUntil(ctx, actor('pia'), 'sunspot', 'ned', past).catch((e: unknown) => e)).to.be.instanceOf(ValidationError);
      expect(await setMemberUntil(ctx, actor('pia'), 'sunspot', 'oli', future).catch((e: unknown) => e)).to.be.instanceOf(NotFoundError);
      expect(await setMemberUntil(ctx, actor('pia'), 'sunspot', 'pia', future).catch((e: unknown) => e)).to.be.instanceOf(ConflictError);
      expect(await setMemberUntil(ctx, actor('mel'), 'sunspot', 'ned', future).catch((e: unknown) => e)).to.be.instanceOf(ForbiddenError);
      expect(await addMember(ctx, actor('pia'), 'sunspot', 'oli', past).catch((e: unknown) => e)).to.be.instanceOf(ValidationError);
      expect(await members('sunspot')).to.not.include('oli');
      expect((await untilValues('sunspot')).some((v) => v.startsWith('ned ') || v.startsWith('oli '))).to.equal(false);
    });

    it('leaving drops the end too, so a later rejoin starts without it', async () => {
      await addMember(ctx, actor('pia'), 'sunspot', 'oli', new Date(Date.now() + 5 * DAY));
      await leaveCampaign(ctx, actor('oli'), 'sunspot');
      expect((await untilValues('sunspot')).some((v) => v.startsWith('oli '))).to.equal(false);
    });
  });

  describe('the expiry job', () => {
    it('warns member and PI at 14 and 3 days, once per threshold and recipient', async () => {
      const now = new Date();
      // mel's end (30 days) is beyond 14: nothing yet.
      expect((await expireMemberships(ctx, notifier, log, now)).warned).to.deep.equal([]);
      const at16 = new Date((await ctx.directory.campaigns.require('sunspot')).memberUntil.mel!.getTime() - 13.5 * DAY);
      const first = await expireMemberships(ctx, notifier, log, at16);
      expect(first.warned.sort()).to.deep.equal(['sunspot mel 14 mel', 'sunspot mel 14 pia']);
      expect((await expireMemberships(ctx, notifier, log, at16)).warned, 'once per threshold').to.deep.equal([]);
      const toMel = await smtp.waitFor((m) => m.to.includes('mel@example.org') && /membership of sunspot ends in 13 days/.test(m.subject));
      expect(toMel.text).to.include('ask the PI (pia)').and.include('https://portal.test/account').and.include('You received this mail because you are a member of campaign sunspot');
      const toPi = await smtp.waitFor((m) => m.to.includes('pia@example.org') && /mel's membership ends in 13 days/.test(m.subject));
      expect(toPi.text).to.include('https://portal.test/campaigns/sunspot').and.include('principal investigator');
      const at3 = new Date(at16.getTime() + 11 * DAY);
      expect((await expireMemberships(ctx, notifier, log, at3)).warned.sort()).to.deep.equal(['sunspot mel 3 mel', 'sunspot mel 3 pia']);
      expect((await expireMemberships(ctx, notifier, log, at3)).warned).to.deep.equal([]);
      expect(smtp.received.filter((m) => m.to.includes('mel@example.org') && /ends in/.test(m.subject))).to.have.length(2);
      expect(await members('sunspot')).to.include('mel');
    });

    it('removes an expired membership (memberUid, then the value), audited by the system, mails the member; leaves the unexpired', async () => {
      await setMemberUntil(ctx, actor('pia'), 'sunspot', 'ned', new Date(Date.now() + 60 * DAY));
      const melEnd = (await ctx.directory.campaigns.require('sunspot')).memberUntil.mel!;
      const after = new Date(melEnd.getTime() + 1000);
      const run = await expireMemberships(ctx, notifier, log, after);
      expect(run.expired).to.deep.equal(['sunspot mel']);
      expect(await members('sunspot')).to.deep.equal(['ned', 'pia']);
      expect((await untilValues('sunspot')).map((v) => v.split(' ')[0])).to.deep.equal(['ned']);
      const record = events.filter((e) => e.action === 'membership.expire');
      expect(record).to.have.length(1);
      expect(record[0]).to.deep.include({ actor: '(system)', target: 'sunspot', details: { member: 'mel', until: melEnd.toISOString() } });
      const ended = await smtp.waitFor((m) => m.to.includes('mel@example.org') && /has ended/.test(m.subject));
      expect(ended.text).to.include(`ended on ${melEnd.toISOString().slice(0, 10)}`).and.include('ask to join again');
      expect(smtp.received.filter((m) => /has ended/.test(m.subject)).flatMap((m) => m.to)).to.deep.equal(['mel@example.org']);
      // A second run has nothing left to do.
      expect(await expireMemberships(ctx, notifier, log, after)).to.deep.equal({ expired: [], warned: [], cleaned: [] });
      // mel came in by an approved request: doctor must not read the ended membership as an approval cut short (and re-add her).
      expect((await checkDirectory(ctx.directory)).filter((f) => f.check === 'approved-not-member')).to.deep.equal([]);
    });

    it('a crash between the two writes (memberUid gone, value left) is cleaned on the next run, without a second audit record', async () => {
      const end = new Date(Date.now() + 2 * DAY);
      await setMemberUntil(ctx, actor('pia'), 'sunspot', 'ned', end);
      // The job's first write, then the crash: the memberUid is gone, the value stays.
      await ctx.directory.campaigns.dropMemberUid('sunspot', 'ned');
      expect(await untilValues('sunspot')).to.deep.equal([`ned ${gt(end)}`]);
      const before = events.length;
      const run = await expireMemberships(ctx, notifier, log, new Date(end.getTime() + 1000));
      expect(run).to.deep.equal({ expired: [], warned: [], cleaned: ['sunspot ned'] });
      expect(await untilValues('sunspot')).to.deep.equal([]);
      expect(events.slice(before).filter((e) => e.action === 'membership.expire')).to.deep.equal([]);
    });
  });

  describe('ended memberships and doctor', () => {
    it('leaving or being removed after an approved request leaves no "approval cut short" for doctor --fix to undo', async () => {
      const doctorWouldReAdd = async () => (await checkDirectory(ctx.directory)).filter((f) => f.check === 'approved-not-member').map((f) => f.detail);
      await decide(ctx, actor('pia'), (await requestToJoin(ctx, actor('pam'), 'sunspot', 'I take the flat fields.')).id, 'approved');
      await leaveCampaign(ctx, actor('pam'), 'sunspot');
      expect(await doctorWouldReAdd(), 'after leaving').to.deep.equal([]);
      await decide(ctx, actor('pia'), (await requestToJoin(ctx, actor('pam'), 'sunspot', 'Back for the second season.')).id, 'approved');
      await removeMember(ctx, actor('pia'), 'sunspot', 'pam', 'project over');
      expect(await doctorWouldReAdd(), 'after removal').to.deep.equal([]);
      expect(await members('sunspot')).to.not.include('pam');
    });
  });

  describe('the mapper agent', () => {
    it('leaves a membership past its end out of the map (secondary gids) even before the job removed the memberUid', async () => {
      const end = new Date(Date.now() + 7 * DAY);
      await addMember(ctx, actor('pia'), 'sunspot', 'ned', end);
      const gid = (await ctx.directory.campaigns.require('sunspot')).gidNumber;
      const before = await readDirectory(fx.agent, fx.slapd.baseDn);
      expect(before.accounts.get('ned')!.campaignGids).to.include(gid);
      const later = await readDirectory(fx.agent, fx.slapd.baseDn, 1000, new Date(end.getTime() + 1000));
      expect(later.accounts.get('ned')!.campaignGids).to.not.include(gid);
      expect(later.accounts.get('pia')!.campaignGids).to.include(gid);
      expect(await members('sunspot')).to.include('ned'); // still there: the agent read it with the agent's account, and left it out
    });
  });
});

function gt(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

function wholeSeconds(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString();
}
