import { expect } from 'chai';
import fc from 'fast-check';
import { ValidationError } from '../../../core/errors.js';
import { fromGeneralizedTime, toGeneralizedTime } from '../../../core/directory/time.js';

describe('core/directory/time: GeneralizedTime', () => {
  it('formats whole UTC seconds and parses it back', () => {
    const d = new Date('2030-01-31T23:59:59.750Z');
    expect(toGeneralizedTime(d)).to.equal('20300131235959Z');
    expect(fromGeneralizedTime('20300131235959Z').toISOString()).to.equal('2030-01-31T23:59:59.000Z');
  });

  it('parses fractions, omitted minutes/seconds and offsets', () => {
    expect(fromGeneralizedTime('20300101000000.5Z').toISOString()).to.equal('2030-01-01T00:00:00.500Z');
    expect(fromGeneralizedTime('2030010112Z').toISOString()).to.equal('2030-01-01T12:00:00.000Z');
    expect(fromGeneralizedTime('203001010100+0100').toISOString()).to.equal('2030-01-01T00:00:00.000Z');
    expect(fromGeneralizedTime('20291231233000-0030').toISOString()).to.equal('2030-01-01T00:00:00.000Z');
  });

  it('refuses what is not GeneralizedTime with ValidationError', () => {
    for (const bad of ['tomorrow', '20301301000000Z', '2030010100.5Z', '20300101000000', '']) {
      expect(() => fromGeneralizedTime(bad), bad).to.throw(ValidationError);
    }
    expect(() => toGeneralizedTime(new Date(Number.NaN))).to.throw(ValidationError);
  });

  it('round-trips any date in whole seconds, and any string ends in a Date or a ValidationError', () => {
    fc.assert(fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
      expect(fromGeneralizedTime(toGeneralizedTime(d)).getTime()).to.equal(Math.floor(d.getTime() / 1000) * 1000);
    }), { seed: 19, numRuns: 300 });
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => {
      try {
        expect(fromGeneralizedTime(s)).to.be.instanceOf(Date);
      } catch (err) {
        expect(err).to.be.instanceOf(ValidationError);
      }
    }), { seed: 19, numRuns: 300 });
  });
});
