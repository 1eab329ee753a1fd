import { expect } from 'chai';
import { outermost } from '../../../mapper-agent/ingest/outermost.js';

describe('mapper-agent/ingest/outermost', () => {
  it('drops paths under another path of the set, and duplicates; a name that only shares a prefix stays', () => {
    expect(outermost(['/d/night/n.fits', '/d/night', '/d/night-2/x.fits', '/d/night/', '/d/a.fits', '/d/a.fits'])).to.deep.equal(['/d/night', '/d/night-2/x.fits', '/d/a.fits']);
    expect(outermost(['/d/x/y/z.fits', '/d'])).to.deep.equal(['/d']);
    expect(outermost(['/', '/d'])).to.deep.equal(['/']);
  });
});
