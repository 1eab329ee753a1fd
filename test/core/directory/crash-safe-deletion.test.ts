/**
 * Deleting an account cut short after each of its LDAP writes in turn (a connection that fails
 * every operation after write N, as a process dying there would leave it): after the first write
 * (the tombstone) its numbers are never reused, after the second (voPersonStatus deleted) it is
 * no longer mapped or usable; doctor reports the unfinished deletion at every point, and its
 * repair finishes it: nothing is left to report.
 */
import { expect } from 'chai';
import { Directory } from '../../../core/directory/directory.js';
import { checkDirectory, repairDirectory } from '../../../core/directory/consistency.js';
import { LdapConnection, type AttributeMap, type Modification } from '../../../core/ldap/connection.js';
import { useManagedSlapd } from '../../support/slapd.js';

const ranges = { uid: { min: 10000, max: 19999 }, gid: { min: 50000, max: 59999 } };

class DyingConnection extends LdapConnection {
  writes = 0;
  dieAfter = Infinity;
  private dieHere(): void {
    if (this.writes >= this.dieAfter) throw new Error('process died');
  }
  override async add(dn: string, attributes: AttributeMap): Promise<void> {
    this.dieHere();
    await super.add(dn, attributes);
    this.writes++;
  }
  override async modify(dn: string, mods: Modification[]): Promise<void> {
    this.dieHere();
    await super.modify(dn, mods);
    this.writes++;
  }
  override async delete(dn: string): Promise<void> {
    this.dieHere();
    await super.delete(dn);
    this.writes++;
  }
}

describe('core/directory deletePerson cut short after each write (real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd({ ranges });

  it('leaves an unmapped account that doctor --fix finishes, at every point', async () => {
    const setup = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges });
    await setup.people.create({ username: 'lead' });
    await setup.campaigns.create({ name: 'survey', pi: 'lead' });
    await setup.campaigns.create({ name: 'other', pi: 'lead' });
    const prepare = async (u: string) => {
      await setup.people.create({ username: u });
      await setup.identities.bind(u, { type: 'x509', subject: `/CN=${u} one` });
      await setup.identities.bind(u, { type: 'x509', subject: `/CN=${u} two` });
      await setup.campaigns.addMember('survey', u);
      await setup.requests.create({ campaign: 'other', requester: u });
    };
    // how many writes a whole deletion makes
    await prepare('counted');
    const counting = new DyingConnection(fx.portal.options);
    await new Directory({ ldap: counting, baseDn: fx.slapd.baseDn, ranges }).deletePerson('counted');
    const total = counting.writes;
    await counting.close();
    expect(total).to.be.at.least(7); // tombstone, status, 2 identities, membership, request, group, person

    for (let n = 1; n < total; n++) {
      const u = `gone${n}`;
      await prepare(u);
      const dying = new DyingConnection(fx.portal.options);
      dying.dieAfter = n;
      const err = await new Directory({ ldap: dying, baseDn: fx.slapd.baseDn, ranges }).deletePerson(u).catch((e: unknown) => e);
      await dying.close();
      expect(err, `cut after write ${n}`).to.be.instanceOf(Error);
      const left = await fx.admin.read(`uid=${u},ou=people,${fx.slapd.baseDn}`, ['voPersonStatus']);
      if (left) expect(left.get('voPersonStatus'), `status after write ${n}`).to.equal(n === 1 ? 'active' : 'deleted');
      const found = await checkDirectory(setup);
      expect(found.map((f) => f.check)).to.include('deletion-unfinished');
      const outcome = await repairDirectory(setup, found);
      expect(outcome.needsPerson).to.deep.equal([]);
      expect(await checkDirectory(setup), `after repair (cut after write ${n})`).to.deep.equal([]);
      expect(await setup.people.get(u)).to.equal(undefined);
      expect((await setup.campaigns.get('survey'))!.members).to.not.include(u);
    }
  });
});
