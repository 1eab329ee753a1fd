import { expect } from 'chai';
import fc from 'fast-check';
import { productStems } from '../../../mapper-agent/ingest/sidecar.js';

describe('mapper-agent/ingest/sidecar', () => {
  it('a sidecar belongs to the FITS file named by its base, cut at _ or -, longest first', () => {
    expect(productStems('obs1.png')).to.deep.equal(['obs1']);
    expect(productStems('obs1_ql.png')).to.deep.equal(['obs1_ql', 'obs1']);
    expect(productStems('aia_2026-01-01_ql.meta.json')).to.deep.equal(['aia_2026-01-01_ql', 'aia_2026-01-01', 'aia_2026-01', 'aia_2026', 'aia']);
    expect(productStems('.hidden.png'), 'no base name, no product').to.deep.equal([]);
  });

  it('every stem is a non-empty prefix of the base name, without "/" (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (name) => {
        const base = name.split('.')[0]!;
        const stems = productStems(name);
        expect(stems.length).to.be.at.most(base.length);
        for (const s of stems) {
          expect(s.length).to.be.above(0);
          expect(base.startsWith(s)).to.equal(true);
        }
      }),
      { seed: 20261201, numRuns: 1000 },
    );
  });
});
