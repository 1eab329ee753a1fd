/**
 * The one rule behind the pages' and the API's second question (server/services/embargo-opening.ts):
 * which changes of an embargo date or a proprietary period open data earlier, and which close
 * released data again.
 */
import { expect } from 'chai';
import { asksConfirmation, openingOf, periodChangeOf } from '../../../server/services/embargo-opening.js';

const now = new Date('2026-12-01T12:00:00Z');
const day = (d: string) => new Date(`${d}T23:59:59Z`);

describe('server/services/embargo-opening', () => {
  it('embargo date: later while closed asks nothing; earlier or lifted opens earlier; a new date on released data closes it again', () => {
    expect(asksConfirmation(openingOf(day('2027-06-01'), day('2028-01-01'), now))).to.equal(false);
    expect(openingOf(day('2027-06-01'), day('2027-01-01'), now)).to.deep.include({ opensEarlier: true, publicFrom: '2027-01-01', closesReleased: false });
    expect(openingOf(day('2027-06-01'), null, now)).to.deep.include({ opensEarlier: true, publicFrom: 'now' });
    expect(openingOf(day('2024-01-01'), day('2027-01-01'), now)).to.deep.include({ closesReleased: true, currentEnd: '2024-01-01' });
    expect(openingOf(undefined, day('2027-01-01'), now)).to.deep.include({ closesReleased: true });
    expect(asksConfirmation(openingOf(day('2024-01-01'), day('2025-01-01'), now)), 'a past date on public data: stays public').to.equal(false);
  });

  it('proprietary period: before the campaign date nothing is public under either setting, so nothing is asked', () => {
    for (const [from, to] of [[undefined, 365], [365, 30], [30, null], [30, 365]] as const) {
      expect(asksConfirmation(periodChangeOf(day('2027-06-01'), from, to, now)), `${from} -> ${to}`).to.equal(false);
    }
  });

  it('proprietary period after the campaign date (or without one): longer or first closes released files again, shorter or none opens earlier', () => {
    for (const end of [day('2024-01-01'), undefined]) {
      expect(periodChangeOf(end, undefined, 365, now)).to.deep.include({ closesReleased: true, opensEarlier: false });
      expect(periodChangeOf(end, 30, 365, now)).to.deep.include({ closesReleased: true, opensEarlier: false });
      expect(periodChangeOf(end, 365, 30, now)).to.deep.include({ closesReleased: false, opensEarlier: true, publicFrom: 'now' });
      expect(periodChangeOf(end, 365, null, now)).to.deep.include({ opensEarlier: true });
      expect(asksConfirmation(periodChangeOf(end, 90, 90, now)), 'the same period').to.equal(false);
      expect(asksConfirmation(periodChangeOf(end, undefined, null, now)), 'none to none').to.equal(false);
    }
    expect(periodChangeOf(day('2024-01-01'), undefined, 365, now).currentEnd).to.equal('2024-01-01');
  });
});
