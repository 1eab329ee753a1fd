import { expect } from 'chai';
import { decodePersonStatus, decodeStatus, isActive, VOPERSON_STATUSES } from '../../../core/directory/status.js';

describe('core/directory/status: one rule, only active is active', () => {
  it('knows every voPerson status value, in any case, and nothing else is active', () => {
    for (const s of VOPERSON_STATUSES) {
      expect(decodeStatus(s)).to.equal(s);
      expect(decodeStatus(s.toUpperCase())).to.equal(s);
      expect(isActive(decodeStatus(s))).to.equal(s === 'active');
    }
    expect(decodeStatus('revoked')).to.equal('revoked');
    expect(decodeStatus('on holiday')).to.equal('unknown');
    expect(isActive('unknown')).to.equal(false);
  });

  it('reads an absent attribute as active, and revoked on a person as unknown', () => {
    expect(decodeStatus(undefined)).to.equal('active');
    expect(decodePersonStatus('Revoked')).to.equal('unknown');
    expect(decodePersonStatus(' Suspended ')).to.equal('suspended');
  });
});
