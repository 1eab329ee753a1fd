import { expect } from 'chai';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookupAccount, readableBy } from '../../mapper-agent/doctor.js';

describe('mapper-agent/doctor', () => {
  it('looks accounts up through id(1): uid and every group; an unknown name is undefined', () => {
    expect(lookupAccount('root')).to.deep.include({ uid: 0 });
    expect(lookupAccount('root')!.groups).to.include(0);
    expect(lookupAccount('no-such-user-cg-test')).to.equal(undefined);
  });

  it('tells whether the dCache user can read the map: file mode by owner/group/other, search on every directory above', function () {
    if (process.getuid?.() !== 0) this.skip();
    const dcache = { uid: 4321, groups: [4242] };
    const base = mkdtempSync(join(tmpdir(), 'cg-doctor-'));
    chmodSync(base, 0o755);
    mkdirSync(join(base, 'etc'), { mode: 0o755 });
    const map = join(base, 'etc', 'multi-mapfile');
    writeFileSync(map, '"dn:/CN=a" username:a uid:1 gid:1,true\n');
    chownSync(map, 0, 4242);
    chmodSync(map, 0o640);
    expect(readableBy(map, dcache)).to.deep.equal({ ok: true });
    chmodSync(map, 0o600); // what a umask of 077 used to leave behind
    expect(readableBy(map, dcache)).to.deep.equal({ ok: false, obstacle: `cannot read ${map}` });
    chmodSync(map, 0o644);
    chmodSync(join(base, 'etc'), 0o750); // root:root 0750: dcache cannot enter
    expect(readableBy(map, dcache)).to.deep.equal({ ok: false, obstacle: `cannot enter ${join(base, 'etc')}` });
    expect(readableBy(map, { uid: 0, groups: [0] })).to.deep.equal({ ok: true });
  });
});
