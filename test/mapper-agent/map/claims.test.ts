/**
 * The claims' sort and merge (claims.ts) against JavaScript's own string order: one entry per
 * distinct value, in the order `<` puts the strings, for values built to stress the sort's skip
 * over bytes a range's keys all share: grid DNs of a few CAs whose shared heads are long, are
 * prefixes of one another, or differ late; rests that are prefixes of other rests; non-ASCII and
 * astral characters (UTF-16 order differs from code point order there); duplicates.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { Claims } from '../../../mapper-agent/map/claims.js';

const LONG = '/DC=org/DC=example/O=Long Organisation Name That Many Certificates Share/OU=Unit';
const heads = fc.constantFrom(
  '', LONG, `${LONG}/OU=Sub`, `${LONG}/OU=Sub/OU=Deeper`, `${LONG}/OU=Suc`, `${LONG}x`, '/C=DE/O=GridKa-CA', '/C=DE/O=GridKa-CA/OU=\u00e9',
  '/C=DE/O=\ud83d\ude00', '/C=DE/O=\uffff', '/C=DE/O=\ue000',
);
const rests = fc.constantFrom('/CN=a', '/CN=ab', '/CN=abc', '/CN=b', '/CN=A', '/CN=', '/CN=a b', '/CN=\u00e9', '/CN=\ud83d\ude00x', '/CN=\uffff', '/', 'noslash', '');
const value = fc.tuple(heads, rests, fc.constantFrom('', '', '/CN=proxy', '/CN=1')).map(([h, r, tail]) => h + r + tail);

function merged(values: string[], splitAt?: string): string[] {
  const claims = new Claims('dn:', splitAt);
  values.forEach((v, i) => claims.add(v, i % 3, i));
  const keys = claims.merge((o) => `u${o}`, []);
  return Array.from({ length: keys.size }, (_, i) => keys.value(i));
}

const jsOrder = (values: string[]) => [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('mapper-agent/map/claims', () => {
  it('merges into JavaScript string order, with or without shared heads (property)', () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 200 }), (values) => {
        const want = jsOrder(values);
        expect(merged(values, '/')).to.deep.equal(want);
        expect(merged(values)).to.deep.equal(want);
      }),
      { numRuns: 300, seed: 20261203 },
    );
  });

  it('sorts thousands of keys that share all but their last bytes, and finds each', () => {
    const values: string[] = [];
    for (let i = 0; i < 3000; i++) values.push(`${LONG}/OU=Sub/CN=user ${String(i % 1000).padStart(4, '0')}${i % 7 === 0 ? ' x' : ''}`);
    const claims = new Claims('dn:', '/');
    values.forEach((v, i) => claims.add(v, i, i));
    const conflicts: { at: number; text: string }[] = [];
    const keys = claims.merge((o) => `u${o}`, conflicts);
    const want = jsOrder(values);
    expect(Array.from({ length: keys.size }, (_, i) => keys.value(i))).to.deep.equal(want);
    // Every value claimed by more than one account (each claim here is by another) is one conflict.
    const claimed = new Map<string, number>();
    for (const v of values) claimed.set(v, (claimed.get(v) ?? 0) + 1);
    expect(conflicts.length).to.equal([...claimed.values()].filter((n) => n > 1).length);
    expect(conflicts.length).to.be.within(900, 1000);
    for (const [i, v] of want.entries()) expect(keys.find(v)).to.equal(i);
    expect(keys.find(`${LONG}/OU=Sub/CN=user 9999`)).to.equal(-1);
  });

  it('an empty value as the first claim is stored (no arena yet)', () => {
    expect(merged(['', '/CN=a', ''], '/')).to.deep.equal(['', '/CN=a']);
  });

  it('keys that end where another goes on: the shorter first, never a byte read past its end', () => {
    const values = [`${LONG}/CN=a/CN=b`, `${LONG}/CN=a`, `${LONG}/CN=a/CN=b/CN=c`, `${LONG}/CN=a/CN=b`, LONG, `${LONG}/CN=a`];
    expect(merged(values, '/')).to.deep.equal(jsOrder(values));
    expect(merged(values)).to.deep.equal(jsOrder(values));
  });
});
