import { expect } from 'chai';
import fc from 'fast-check';
import { parseFitsDate } from '../../../core/fits/date.js';

describe('core/fits/date', () => {
  it('parseFitsDate reads any text to a valid date or nothing, never an exception; every FITS date it is given comes back exactly (property, fixed seed)', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('2025-02-29', '2024-02-29T24:00:00', '0099-01-01', ' 2025-01-01', '2025-01-01Z')), (text) => {
      const d = parseFitsDate(text);
      return d === undefined || (d instanceof Date && !Number.isNaN(d.getTime()));
    }), { seed: 20261201, numRuns: 2000 });
    fc.assert(fc.property(fc.date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), fc.boolean(), (date, dayOnly) => {
      const iso = date.toISOString();
      const text = dayOnly ? iso.slice(0, 10) : iso.slice(0, 23);
      return parseFitsDate(text)!.toISOString() === (dayOnly ? `${iso.slice(0, 10)}T00:00:00.000Z` : iso);
    }), { seed: 20261201, numRuns: 2000 });
    expect(parseFitsDate('2025-01-01Z'), 'no zone letter').to.equal(undefined);
  });

  it('parses FITS dates strictly (UTC), nothing else', () => {
    expect(parseFitsDate('2025-05-31')!.toISOString()).to.equal('2025-05-31T00:00:00.000Z');
    expect(parseFitsDate('2025-05-31T12:30:15.25   ')!.toISOString()).to.equal('2025-05-31T12:30:15.250Z');
    for (const bad of ['31/05/25', '2025-5-31', '2025-02-30', '2025-05-31T24:00:00', '2025-05-31T12:00:60', '2025-05-31T12:00', ' 2025-05-31', '2025-05-31Z', '0099-01-01', '', 'yesterday', 20250531, null, true]) {
      expect(parseFitsDate(bad), String(bad)).to.equal(undefined);
    }
  });
});
