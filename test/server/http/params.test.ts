import { expect } from 'chai';
import fc from 'fast-check';
import { stringParam } from '../../../server/http/params.js';

describe('server/http/params', () => {
  it('keeps strings up to the bound and turns everything else into an empty string', () => {
    expect(stringParam('abc')).to.equal('abc');
    expect(stringParam('x'.repeat(300))).to.have.length(200);
    expect(stringParam('abcdef', 3)).to.equal('abc');
    for (const v of [undefined, null, 5, ['a'], { a: 1 }]) expect(stringParam(v)).to.equal('');
    fc.assert(fc.property(fc.anything(), fc.integer({ min: 0, max: 50 }), (v, max) => {
      const out = stringParam(v, max);
      expect(out.length).to.be.at.most(max);
    }), { seed: 19, numRuns: 300 });
  });
});
