import { expect } from 'chai';
import { Directory } from '../../../core/directory/directory.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../../core/errors.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { rejection } from '../../support/rejection.js';

const ranges = { uid: { min: 10000, max: 19999 }, gid: { min: 50000, max: 59999 } };

describe('core/directory/campaigns and requests (real slapd)', function () {
  this.timeout(20000);
  const fx = useManagedSlapd({ ranges });
  let dir: Directory;
  before(async () => {
    dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges });
    await dir.people.create({ username: 'pi', cn: 'Paula Investigator' });
    await dir.people.create({ username: 'ann' });
    await dir.people.create({ username: 'ben' });
    await dir.people.create({ username: 'root', roles: ['admin'] });
  });

  it('creates a campaign with a gid, the PI as member, embargo and state', async () => {
    const end = new Date('2031-06-30T00:00:00Z');
    const hostile = '*)(uid=*))(|(uid=*';
    const c = await dir.campaigns.create({ name: 'deep-field', pi: 'pi', description: hostile, embargoEnd: end });
    expect(c).to.include({ name: 'deep-field', pi: 'pi', state: 'open', description: hostile });
    expect(c.members).to.deep.equal(['pi']);
    expect(c.embargoEnd?.toISOString()).to.equal(end.toISOString());
    expect(c.gidNumber).to.be.within(ranges.gid.min, ranges.gid.max);
    const pub = await dir.campaigns.create({ name: 'public-survey', pi: 'pi' });
    expect(pub.embargoEnd).to.equal(undefined);
    expect(pub.gidNumber).to.not.equal(c.gidNumber);
    expect((await dir.campaigns.list()).map((x) => x.name)).to.deep.equal(['deep-field', 'public-survey']);
    expect((await dir.campaigns.ledBy('pi')).map((x) => x.name)).to.deep.equal(['deep-field', 'public-survey']);
  });

  it('refuses duplicates, unknown PIs, names clashing with usernames, and bad names', async () => {
    expect(await rejection(dir.campaigns.create({ name: 'deep-field', pi: 'pi' }))).to.be.instanceOf(ConflictError);
    expect(await rejection(dir.campaigns.create({ name: 'ann', pi: 'pi' }))).to.be.instanceOf(ConflictError);
    expect(await rejection(dir.campaigns.create({ name: 'x1', pi: 'ghost' }))).to.be.instanceOf(NotFoundError);
    expect(await rejection(dir.campaigns.create({ name: 'a,ou=people', pi: 'pi' }))).to.be.instanceOf(ValidationError);
    expect(await rejection(dir.people.create({ username: 'deep-field' }))).to.be.instanceOf(ConflictError);
  });

  it('changes embargo end, state and members; the PI stays a member', async () => {
    await dir.campaigns.setEmbargoEnd('deep-field', new Date('2032-01-01T12:00:00Z'));
    expect((await dir.campaigns.require('deep-field')).embargoEnd?.toISOString()).to.equal('2032-01-01T12:00:00.000Z');
    await dir.campaigns.setEmbargoEnd('public-survey', null);
    await dir.campaigns.addMember('public-survey', 'ann');
    await dir.campaigns.addMember('public-survey', 'ann');
    expect((await dir.campaigns.require('public-survey')).members).to.deep.equal(['ann', 'pi']);
    expect((await dir.campaigns.ofMember('ann')).map((c) => c.name)).to.deep.equal(['public-survey']);
    await dir.campaigns.removeMember('public-survey', 'ann');
    await dir.campaigns.removeMember('public-survey', 'ann');
    expect((await dir.campaigns.require('public-survey')).members).to.deep.equal(['pi']);
    expect(await rejection(dir.campaigns.removeMember('public-survey', 'pi'))).to.be.instanceOf(ConflictError);
    expect(await rejection(dir.campaigns.addMember('public-survey', 'ghost'))).to.be.instanceOf(NotFoundError);
    await dir.campaigns.close('public-survey');
    expect((await dir.campaigns.require('public-survey')).state).to.equal('closed');
    expect((await dir.campaigns.list({ state: 'open' })).map((c) => c.name)).to.deep.equal(['deep-field']);
    await dir.campaigns.reopen('public-survey');
    expect(await rejection(dir.campaigns.close('nosuch'))).to.be.instanceOf(NotFoundError);
  });

  it('runs membership requests: create, list, deny, approve (adds memberUid), decide once', async () => {
    const r1 = await dir.requests.create({ campaign: 'deep-field', requester: 'ann', justification: 'I reduce\nthe data' });
    expect(r1).to.include({ campaign: 'deep-field', requester: 'ann', state: 'pending', justification: 'I reduce\nthe data' });
    expect(await rejection(dir.requests.create({ campaign: 'deep-field', requester: 'ann' }))).to.be.instanceOf(ConflictError);
    const r2 = await dir.requests.create({ campaign: 'deep-field', requester: 'ben' });
    expect((await dir.requests.pendingForCampaign('deep-field')).map((r) => r.requester).sort()).to.deep.equal(['ann', 'ben']);
    expect((await dir.requests.byRequester('ann')).map((r) => r.id)).to.deep.equal([r1.id]);
    expect(await rejection(dir.requests.decide(r1.id, { decision: 'approved', decidedBy: 'ben' }))).to.be.instanceOf(ForbiddenError);

    // two racing decisions on one request: exactly one wins
    const race = await Promise.allSettled([
      dir.requests.decide(r1.id, { decision: 'approved', decidedBy: 'pi', reason: 'welcome' }),
      dir.requests.decide(r1.id, { decision: 'denied', decidedBy: 'root' }),
    ]);
    expect(race.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    const loser = race.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason).to.be.instanceOf(ConflictError);
    const decided = (await dir.requests.get(r1.id))!;
    const members = (await dir.campaigns.require('deep-field')).members;
    expect(members.includes('ann')).to.equal(decided.state === 'approved');

    const d2 = await dir.requests.decide(r2.id, { decision: 'denied', decidedBy: 'root', reason: 'no' });
    expect(d2).to.include({ state: 'denied', decidedBy: 'root', decisionReason: 'no' });
    expect(d2.decidedAt).to.be.instanceOf(Date);
    expect((await dir.campaigns.require('deep-field')).members).to.not.include('ben');
    expect(await dir.requests.pendingForCampaign('deep-field')).to.deep.equal([]);
    expect(await dir.requests.get('not-a-uuid')).to.equal(undefined);
  });

  it('changes the suffix contextCSN after every write, visible to the read-only agent', async () => {
    const agentDir = new Directory({ ldap: fx.agent, baseDn: fx.slapd.baseDn, ranges });
    const before = await agentDir.contextCsn();
    expect(before).to.match(/^\d{14}\.\d{6}Z#[0-9a-f]{6}#[0-9a-f]{3}#[0-9a-f]{6}$/);
    expect(await agentDir.contextCsn()).to.equal(before);
    await dir.campaigns.setEmbargoEnd('deep-field', new Date('2033-01-01T00:00:00Z'));
    const after = await agentDir.contextCsn();
    expect(after).to.not.equal(before);
    expect(after > before).to.equal(true);
    // and the agent cannot write
    expect(await rejection(agentDir.campaigns.close('deep-field'))).to.be.instanceOf(ForbiddenError);
  });
});
