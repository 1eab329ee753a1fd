import { expect } from 'chai';
import { memoLast } from '../../core/memo-last.js';

describe('core/memo-last', () => {
  it('makes the result again only when an argument differs, compared with Object.is', () => {
    let made = 0;
    const join = memoLast((a: string, n: number) => {
      made++;
      return `${a}:${n}`;
    });
    const first = join('x', 1);
    expect(join(['x'].join(''), 1)).to.equal(first); // equal text, another string object: the same result
    expect(made).to.equal(1);
    expect(join('x', 2)).to.equal('x:2');
    expect(join('y', 2)).to.equal('y:2');
    expect(join('y', -0)).to.equal('y:0');
    expect(join('y', 0)).to.equal('y:0');
    expect(made).to.equal(5); // 0 and -0 differ for Object.is
    expect(join('y', NaN)).to.equal('y:NaN');
    expect(join('y', NaN)).to.equal('y:NaN');
    expect(made).to.equal(6); // NaN is NaN for Object.is
  });
});
