import { expect } from 'chai';
import { Semaphore } from '../../../core/ldap/semaphore.js';

describe('core/ldap/semaphore', () => {
  it('never lets more than the limit run, serves waiters in order, and frees slots on failure', async () => {
    const s = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const job = (i: number, fail = false) => s.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      order.push(i);
      if (fail) throw new Error(`job ${i}`);
      return i;
    });
    const results = await Promise.allSettled([job(0), job(1, true), job(2), job(3), job(4)]);
    expect(peak).to.equal(2);
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(order.slice(2)).to.deep.equal([2, 3, 4]);
    expect(s.inFlight).to.equal(0);
    expect(() => new Semaphore(0)).to.throw(RangeError);
  });
});
