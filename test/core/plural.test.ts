import { expect } from 'chai';
import { count } from '../../core/plural.js';

describe('core/plural', () => {
  it('agrees the noun with the count, irregular plurals given', () => {
    expect(count(1, 'file')).to.equal('1 file');
    expect(count(0, 'file')).to.equal('0 files');
    expect(count(2, 'directory', 'directories')).to.equal('2 directories');
    expect(count(1, 'signed batch', 'signed batches')).to.equal('1 signed batch');
  });
});
