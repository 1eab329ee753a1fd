import { expect } from 'chai';
import { Directory } from '../../../core/directory/directory.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../core/errors.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { rejection } from '../../support/rejection.js';

const ranges = { uid: { min: 10000, max: 19999 }, gid: { min: 50000, max: 59999 } };

describe('core/directory/people (real slapd)', function () {
  this.timeout(20000);
  const fx = useManagedSlapd({ ranges });
  let dir: Directory;
  before(() => {
    dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges });
  });

  it('creates a person with a private group that lists them as memberUid', async () => {
    const p = await dir.people.create({ username: 'alice', cn: 'Alice Smith', mail: 'alice@example.org', givenName: 'Alice', policyAgreements: ['aup-v1'] });
    expect(p).to.include({ username: 'alice', cn: 'Alice Smith', sn: 'Smith', homeDirectory: '/home/alice', status: 'active', loginShell: '/bin/bash' });
    expect(p.uidNumber).to.be.within(ranges.uid.min, ranges.uid.max);
    expect(p.policyAgreements).to.deep.equal(['aup-v1']);
    const group = await fx.agent.read(`cn=alice,ou=groups,${fx.slapd.baseDn}`, ['gidNumber', 'memberUid', 'objectClass']);
    expect(group?.getInt('gidNumber')).to.equal(p.gidNumber);
    expect(group?.getAll('memberUid')).to.deep.equal(['alice']);
    expect(group?.getAll('objectClass').map((s) => s.toLowerCase())).to.include('posixgroup');
    expect((await dir.people.getByUidNumber(p.uidNumber))?.username).to.equal('alice');
  });

  it('refuses a taken username with ConflictError and invalid ones with ValidationError', async () => {
    expect(await rejection(dir.people.create({ username: 'alice' }))).to.be.instanceOf(ConflictError);
    for (const bad of ['Alice', '1abc', 'a,ou=people', 'x*', 'a b', '', 'a'.repeat(33), 'bob)(uid=*', 'é']) {
      expect(await rejection(dir.people.create({ username: bad })), bad).to.be.instanceOf(ValidationError);
    }
  });

  it('stores LDAP metacharacters in names literally and never interprets them in searches', async () => {
    const hostile = '*)(uid=*))(|(uid=*';
    const p = await dir.people.create({ username: 'mallory', displayName: hostile, cn: 'Mal, ou=people+"#\\ \u00fcml\u00e4ut' });
    expect(p.displayName).to.equal(hostile);
    expect(p.cn).to.equal('Mal, ou=people+"#\\ \u00fcml\u00e4ut');
    await dir.people.create({ username: 'bob', cn: 'Bob Jones' });
    // search text full of filter syntax: matches only the entry that literally contains it
    expect((await dir.people.search(hostile)).map((x) => x.username)).to.deep.equal(['mallory']);
    expect((await dir.people.search('*')).map((x) => x.username)).to.deep.equal(['mallory']);
    expect((await dir.people.search(')(uid=alice')).map((x) => x.username)).to.deep.equal([]);
    expect((await dir.people.search('\\')).map((x) => x.username)).to.deep.equal(['mallory']);
    expect((await dir.people.search('\u00fcml')).map((x) => x.username)).to.deep.equal(['mallory']);
    expect((await dir.people.search('jones')).map((x) => x.username)).to.deep.equal(['bob']);
    // lookups by hostile names find nothing instead of something else
    expect(await dir.people.get('*')).to.equal(undefined);
    expect(await dir.people.get('alice,ou=people')).to.equal(undefined);
  });

  it('refuses control characters and empty values', async () => {
    expect(await rejection(dir.people.create({ username: 'nul', cn: 'a\u0000b' }))).to.be.instanceOf(ValidationError);
    expect(await rejection(dir.people.create({ username: 'nl', displayName: 'a\nb' }))).to.be.instanceOf(ValidationError);
    expect(await rejection(dir.people.create({ username: 'blank', cn: '   ' }))).to.be.instanceOf(ValidationError);
    expect(await dir.people.get('nul')).to.equal(undefined);
  });

  it('updates fields, roles and status', async () => {
    const p = await dir.people.update('bob', { displayName: 'Robert', mail: 'bob@example.org', givenName: null, loginShell: '/bin/zsh' });
    expect(p).to.include({ displayName: 'Robert', mail: 'bob@example.org', loginShell: '/bin/zsh' });
    expect(p.givenName).to.equal(undefined);
    await dir.people.addRole('bob', 'admin');
    await dir.people.addRole('bob', 'admin'); // idempotent
    expect((await dir.people.require('bob')).roles).to.deep.equal(['admin']);
    await dir.people.removeRole('bob', 'admin');
    expect((await dir.people.require('bob')).roles).to.deep.equal([]);
    await dir.people.suspend('bob');
    expect((await dir.people.require('bob')).status).to.equal('suspended');
    await dir.people.reactivate('bob');
    expect((await dir.people.require('bob')).status).to.equal('active');
    expect(await rejection(dir.people.suspend('nosuch'))).to.be.instanceOf(NotFoundError);
    expect(await rejection(dir.people.update('nosuch', { cn: 'x' }))).to.be.instanceOf(NotFoundError);
  });

  it('deletes a person, their group and memberships, leaving a tombstone', async () => {
    const pi = await dir.people.create({ username: 'pi' });
    const erin = await dir.people.create({ username: 'erin' });
    await dir.campaigns.create({ name: 'survey', pi: pi.username });
    await dir.campaigns.addMember('survey', 'erin');
    await dir.deletePerson('erin');
    expect(await dir.people.get('erin')).to.equal(undefined);
    expect(await fx.admin.read(`cn=erin,ou=groups,${fx.slapd.baseDn}`)).to.equal(undefined);
    expect((await dir.campaigns.require('survey')).members).to.deep.equal(['pi']);
    const tomb = await fx.admin.read(`uid=erin,ou=tombstones,${fx.slapd.baseDn}`, ['uidNumber', 'gidNumber', 'cgDeletedAt']);
    expect(tomb?.getInt('uidNumber')).to.equal(erin.uidNumber);
    expect(tomb?.getInt('gidNumber')).to.equal(erin.gidNumber);
    expect(await rejection(dir.people.create({ username: 'erin' }))).to.be.instanceOf(ConflictError);
    // a PI cannot be deleted while leading a campaign
    expect(await rejection(dir.deletePerson('pi'))).to.be.instanceOf(ConflictError);
    expect(await rejection(dir.deletePerson('erin'))).to.be.instanceOf(NotFoundError);
  });

  it('pages through all people', async () => {
    const all: string[] = [];
    for await (const page of dir.people.all(2)) {
      expect(page.length).to.be.at.most(2);
      all.push(...page.map((p) => p.username));
    }
    expect(all.sort()).to.deep.equal(['alice', 'bob', 'mallory', 'pi']);
  });

  it('a page of a search: the total of all matches, the page read in full, service identities left out on request', async () => {
    await dir.people.create({ username: 'robot', displayName: 'Robot (web)', serviceRole: 'public-reader' });
    const names = (await dir.people.search('', 1000)).map((p) => p.username);
    const first = await dir.people.page({ offset: 0, limit: 2 });
    const rest = await dir.people.page({ offset: 2, limit: 100 });
    expect(first.total).to.equal(names.length);
    expect([...first.people, ...rest.people].map((p) => p.username)).to.deep.equal(names);
    expect(first.people[0]).to.have.property('uidNumber').that.is.a('number');
    expect((await dir.people.page({ offset: 0, limit: 100, people: true })).people.map((p) => p.serviceRole)).to.not.include('public-reader');
    expect(await dir.people.page({ offset: 500, limit: 10 })).to.deep.equal({ total: names.length, people: [] });
    // metacharacters in the search text are matched literally
    expect((await dir.people.page({ text: '*)(uid=*', offset: 0, limit: 10 })).people.map((p) => p.username)).to.deep.equal(['mallory']);
    expect((await dir.people.page({ text: ')(uid=alice', offset: 0, limit: 10 })).total).to.equal(0);
  });
});
