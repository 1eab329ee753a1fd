import { expect } from 'chai';
import { Directory } from '../../core/directory/directory.js';
import { DEMO, seedDemoDirectory } from '../../demo/demo-directory.js';
import { useManagedSlapd } from '../support/slapd.js';

const ranges = { uid: { min: 10000, max: 19999 }, gid: { min: 50000, max: 59999 } };

describe('demo/demo-directory', function () {
  this.timeout(20000);
  const fx = useManagedSlapd({ ranges });

  it('seeds a PI, a user, an embargoed and a public campaign, idempotently', async () => {
    const dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges });
    const now = new Date('2026-01-01T00:00:00Z');
    const first = await seedDemoDirectory(dir, now);
    expect(first.embargoed.embargoEnd!.getTime()).to.be.greaterThan(now.getTime());
    expect(first.public.embargoEnd).to.equal(undefined);
    expect(first.public.members).to.deep.equal([DEMO.user.username, DEMO.pi.username].sort());
    const csn = await dir.contextCsn();
    const second = await seedDemoDirectory(dir, new Date('2027-01-01T00:00:00Z'));
    expect(second.pi.uidNumber).to.equal(first.pi.uidNumber);
    expect(second.embargoed.embargoEnd!.toISOString()).to.equal(first.embargoed.embargoEnd!.toISOString());
    expect(await dir.contextCsn()).to.equal(csn); // nothing written the second time
    expect((await dir.people.search('', 100)).map((p) => p.username)).to.deep.equal([DEMO.user.username, DEMO.pi.username].sort());
  });
});
