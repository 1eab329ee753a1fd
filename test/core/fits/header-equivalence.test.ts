/**
 * Differential test: the header reader (lazy value fields, scanned common forms, doubles in
 * dataSize) against the reader it replaced (./reference-header.ts), on random and hostile
 * headers: every value type, quotes and '' escapes, &, CONTINUE chains, huge integers, D
 * exponents, complex values, HIERARCH, commentary, duplicates, missing END, bytes outside
 * 0x20-0x7e, several blocks, extensions with random structural keywords, gzip. Same values, same
 * problems, same keyword order, same errors with the same messages.
 */
import { expect } from 'chai';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { dataSize, walkHdus } from '../../../core/fits/hdus.js';
import { BLOCK, FitsError, parseHeader, type FitsHeader } from '../../../core/fits/header.js';
import { GzipSource } from '../../../core/fits/source.js';
import { refDataSize, refParseHeader, refWalkHdus, type RefHeader } from './reference-header.js';
import { MemSource } from '../../support/fits.js';

/** Fixed seed and runs; FITS_EQ_SEED / FITS_EQ_SCALE explore further by hand (never in CI). */
const SEED = Number(process.env.FITS_EQ_SEED ?? 12);
const runs = (n: number) => Math.round(n * Number(process.env.FITS_EQ_SCALE ?? 1));
const pad = (s: string) => s.padEnd(80).slice(0, 80);
const chars = (alphabet: string, maxLength: number) => fc.string({ unit: fc.constantFrom(...alphabet.split('')), maxLength });

// Keywords from a small pool, so duplicates (equal and different) are frequent.
const keyword = fc.constantFrom('CAMPAIGN', 'PROPOSID', 'OBS_ID', 'DATE-OBS', 'OBJECT', 'BITPIX', 'NAXIS', 'NAXIS1', 'NAXIS2', 'PCOUNT', 'GCOUNT', 'GROUPS', 'K', 'A-B_9', 'XTENSION', 'ZIMAGE', 'EXTEND', 'HIERARCH', 'SIMPLE');
const oddKeyword = fc.constantFrom('campaign', 'Camp', 'A B', ' CAMP', 'END', 'CONTINUE', 'COMMENT', 'HISTORY', 'comment', '', 'TOOLONGKEY', 'K=', 'K.1', 'CAMPAIG\'');
const comment = fc.oneof(fc.constant(''), chars(" /abc'&=()-", 20).map((c) => ` / ${c}`), chars(" /abc'&", 10).map((c) => `/${c}`), chars(' ', 5));
const stringBody = chars(" abcXYZ09'&/=-.()", 30);
const stringValue = fc.oneof(
  // a well-formed string: quotes doubled
  fc.tuple(stringBody, fc.boolean(), chars(' ', 10)).map(([s, amp, trail]) => `'${s.replace(/'/g, "''")}${amp ? '&' : ''}${trail}'`),
  // the body as is: stray quotes that may end it early or be read differently by astropy
  fc.tuple(stringBody, fc.boolean()).map(([s, close]) => `'${s}${close ? "'" : ''}`),
  fc.constantFrom("''", "' '", "''''", "'&'", "'x'' / K = ''y'", "'a' 'b'", "'a'b", "'a'/b'", "'' / a '/ b", "'it''s &'"),
);
const digits = (max: number) => chars('0123456789', max);
const integer = fc.tuple(fc.constantFrom('', '+', '-'), digits(30).filter((d) => d.length > 0)).map(([s, d]) => s + d);
const real = fc.tuple(fc.constantFrom('', '+', '-'), digits(6), fc.constantFrom('.', ''), digits(6), fc.constantFrom('', 'E', 'e', 'D', 'd', 'E+', 'D-', 'e-'), digits(3)).map((p) => p.join(''));
const complex = fc.tuple(real, real, chars(' ', 2)).map(([a, b, s]) => `(${s}${a}${s},${s}${b})`);
const logical = fc.constantFrom('T', 'F', 't', 'TT', 'T F', 'X');
const value = fc.oneof(
  { weight: 4, arbitrary: stringValue },
  { weight: 2, arbitrary: integer },
  { weight: 2, arbitrary: real },
  { weight: 1, arbitrary: complex },
  { weight: 1, arbitrary: logical },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: chars(" abc'&/=()+-.0123456789ED", 30) },
);
/** A value field: left-aligned, or right-aligned to column 30 as fixed format writes it, then a comment. */
const field = fc.tuple(value, fc.boolean(), fc.nat(4), comment).map(([v, right, lead, c]) => (right ? v.padStart(20) : ' '.repeat(lead) + v) + c);

/** Fields that read as equal values written differently (a duplicate that must not become a problem), and near misses. */
const sameValue = fc.constantFrom("'c1'", "'c1      '", "'c1' / same", "   'c1'", "'c1 '/x", "'C1'", "'c1&'", '1', '+1', '01', '                   1', '1 / one', '1.0', '1.00', '1D0', '2', 'T', '     T', 'T / yes', 'F', '', ' / none', '1E999', '-1E999', '(1,2)', '(1, 2)');
const card = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('CAMPAIGN', 'NAXIS', 'K'), sameValue).map(([k, f]) => pad(`${k.padEnd(8)}= ${f}`)) },
  { weight: 10, arbitrary: fc.tuple(keyword, field).map(([k, f]) => pad(`${k.padEnd(8)}= ${f}`)) },
  { weight: 2, arbitrary: fc.tuple(oddKeyword, field, fc.constantFrom('= ', '=', ' = ', '')).map(([k, f, eq]) => pad(`${k.padEnd(8).slice(0, 8)}${eq}${f}`)) },
  { weight: 1, arbitrary: fc.tuple(oddKeyword, field).map(([k, f]) => pad(`${k}= ${f}`)) },
  { weight: 4, arbitrary: fc.tuple(stringValue, comment, fc.constantFrom('CONTINUE  ', 'CONTINUE  ', 'CONTINUE= ', 'CONTINUE ', 'continue  ')).map(([s, c, p]) => pad(`${p}${s}${c}`)) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('CONTINUE  12', 'CONTINUE', 'CONTINUE  T')).map(([s]) => pad(s)) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('HIERARCH CAMPAIGN', 'HIERARCH ESO OBS ID', 'HIERARCH  A   B', 'HIERARCH ', 'HIERARCH CAMPAIGN'), fc.constantFrom(' = ', '=', ' '), field).map(([k, eq, f]) => pad(`${k}${eq}${f}`)) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('COMMENT ', 'HISTORY ', '        ', 'comment ', ''), chars(" abc'=/&", 40)).map(([k, t]) => pad(k + t)) },
  { weight: 1, arbitrary: fc.constantFrom(pad('END'), pad('END     x'), pad('END     = 1'), pad('ENDX')) },
  { weight: 1, arbitrary: chars(" =/'&()+-.0123456789ABCDEFTZ_eadx", 80).map(pad) },
);

const SIMPLE = pad('SIMPLE  =                    T');
/** Header bytes: a first card, cards, mostly an END, padded to blocks; sometimes cut short or with bytes outside 0x20-0x7e. */
const headerBytes = fc
  .record({
    first: fc.oneof({ weight: 9, arbitrary: fc.constant(SIMPLE) }, { weight: 1, arbitrary: card }),
    cards: fc.array(card, { maxLength: 120 }),
    end: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    cut: fc.oneof({ weight: 8, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(5 * BLOCK) }),
    bad: fc.oneof({ weight: 6, arbitrary: fc.constant([] as [number, number][]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.nat(5 * BLOCK), fc.constantFrom(0x00, 0x09, 0x0a, 0x1f, 0x7f, 0x80, 0xc3, 0xff)), { minLength: 1, maxLength: 3 }) }),
  })
  .map(({ first, cards, end, cut, bad }) => {
    const text = [first, ...cards, ...(end ? [pad('END')] : [])].join('');
    const buf = Buffer.from(text.padEnd(Math.max(BLOCK, Math.ceil(text.length / BLOCK) * BLOCK)), 'latin1');
    for (const [at, byte] of bad) if (at < buf.length) buf[at] = byte;
    return cut >= 0 ? buf.subarray(0, Math.min(cut, buf.length)) : buf;
  });

/** Both readers' outcome in one comparable shape: the error's class and message, or every entry in keyword order. */
function outcome(read: () => FitsHeader | RefHeader, order: 'keywords-first' | 'lookups-first'): unknown {
  let h: FitsHeader | RefHeader;
  try {
    h = read();
  } catch (err) {
    if (!(err instanceof FitsError)) throw err;
    return { error: err.constructor.name, message: err.message };
  }
  // The lazy header must not depend on the order of questions: ask some keywords before listing all.
  const asked = order === 'lookups-first' ? ['CAMPAIGN', 'NAXIS', 'K'].map((k) => [k, h.get(k), h.has(k)]) : [];
  const keywords = h.keywords();
  return { size: h.size, asked, keywords, entries: keywords.map((k) => [k, h.entry(k), h.get(k), h.has(k)]), missing: h.entry('NO-SUCH') ?? null };
}

function walked(walk: () => ReturnType<typeof walkHdus> | ReturnType<typeof refWalkHdus>): unknown {
  let r;
  try {
    r = walk();
  } catch (err) {
    if (!(err instanceof FitsError)) throw err;
    return { error: err.constructor.name, message: err.message };
  }
  const entries = (h: FitsHeader | RefHeader) => ({ size: h.size, entries: h.keywords().map((k) => [k, h.entry(k)]) });
  return {
    stopped: r.stopped,
    hdus: r.hdus.map((x) => ({ index: x.index, kind: x.kind, ...entries(x.header) })),
    primary: r.hdus[0]!.header === r.primary,
    compressed: r.compressed ? r.hdus.findIndex((x) => x.header === r.compressed) : -1,
  };
}

// Structural keywords for extensions: small, zero, negative, huge, non-integer, missing, duplicated.
const structural = fc.oneof(
  { weight: 6, arbitrary: fc.nat(40).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('-1', '0', '-0', '+3', '0003', '1125899906842624', '1125899906842625', '99999999999999999999', '2.0', "'8'", 'T', '', '-32', '-64', '64', '16', '999', '1000') },
);
const axisCards = fc.array(fc.tuple(fc.constantFrom('BITPIX', 'NAXIS', 'NAXIS1', 'NAXIS2', 'NAXIS3', 'PCOUNT', 'GCOUNT', 'GROUPS', 'ZIMAGE'), structural), { maxLength: 8 });
const hdu = fc
  .record({
    bitpix: fc.constantFrom('8', '16', '32', '64', '-32', '-64', '8', '12'),
    naxis: fc.array(fc.nat(700), { maxLength: 3 }),
    extra: axisCards,
    groups: fc.boolean(),
    xtension: fc.constantFrom("'IMAGE   '", "'BINTABLE'", "'TABLE   '", "'FOO'", '1'),
    zimage: fc.boolean(),
    cards: fc.array(card, { maxLength: 20 }),
    data: fc.oneof(fc.constant(-1), fc.nat(3 * BLOCK)),
  });
const fileBytes = fc.record({ primary: hdu, extensions: fc.array(hdu, { maxLength: 3 }), trailing: fc.constantFrom('', 'junk', 'XTENSION= ') }).map(({ primary, extensions, trailing }) => {
  const parts = [primary, ...extensions].map((h, i) => {
    const k = (kw: string, v: string) => pad(`${kw.padEnd(8)}= ${v.padStart(20)}`);
    const cards = [
      i === 0 ? SIMPLE : k('XTENSION', h.xtension),
      k('BITPIX', h.bitpix),
      k('NAXIS', String(h.naxis.length)),
      ...h.naxis.map((n, j) => k(`NAXIS${j + 1}`, String(i === 0 && h.groups && j === 0 ? 0 : n))),
      ...(i === 0 && h.groups ? [k('GROUPS', 'T')] : []),
      ...(i > 0 && h.zimage ? [k('ZIMAGE', 'T')] : []),
      ...h.extra.map(([kw, v]) => k(kw, v)),
      ...h.cards.filter((c) => !c.startsWith('END')),
      pad('END'),
    ].join('');
    const text = Buffer.from(cards.padEnd(Math.ceil(cards.length / BLOCK) * BLOCK), 'latin1');
    const product = h.naxis.reduce((a, b) => a * b, h.naxis.length ? 1 : 0);
    const data = h.data >= 0 ? h.data : Math.ceil((product * Math.abs(Number(h.bitpix) / 8 || 1)) / BLOCK) * BLOCK;
    return Buffer.concat([text, Buffer.alloc(Math.min(data, 4 * BLOCK))]);
  });
  return Buffer.concat([...parts, Buffer.from(trailing.padEnd(trailing ? BLOCK : 0), 'latin1')]);
});

describe('core/fits header reader: the same results as the reference reader (differential, fast-check)', () => {
  it('single headers: same entries, problems, keyword order and size, or the same FitsError', () => {
    let read = 0;
    let refused = 0;
    fc.assert(
      fc.property(headerBytes, fc.constantFrom('keywords-first', 'lookups-first') as fc.Arbitrary<'keywords-first' | 'lookups-first'>, fc.nat(3), (buf, order, shift) => {
        // Also at an odd offset in a larger buffer (a block that is not 4-byte aligned).
        const shifted = Buffer.concat([Buffer.alloc(shift, 0x20), buf]);
        const ours = outcome(() => parseHeader(shifted, shift), order);
        const ref = outcome(() => refParseHeader(shifted, shift), order);
        expect(ours).to.deep.equal(ref);
        if ((ref as { error?: string }).error) refused++;
        else read++;
      }),
      { seed: SEED, numRuns: runs(4000) },
    );
    // The generator must reach both outcomes often (not only errors, not only reads).
    expect(read).to.be.greaterThan(1000);
    expect(refused).to.be.greaterThan(400);
  });

  it('cards the generator makes hit the slow and the fast paths alike: duplicates, CONTINUE chains, HIERARCH, problems', () => {
    const seen = { duplicate: 0, differing: 0, continued: 0, hierarch: 0, problem: 0, plain: 0 };
    fc.assert(
      fc.property(headerBytes, (buf) => {
        let h: FitsHeader;
        try {
          h = parseHeader(buf);
        } catch {
          return;
        }
        for (const k of h.keywords()) {
          const e = h.entry(k)!;
          if (k.startsWith('HIERARCH ')) seen.hierarch++;
          if (e.problem) seen.problem++;
          else seen.plain++;
          if (e.problem?.includes('more than once')) seen.differing++;
          if (e.problem?.includes('CONTINUE')) seen.continued++;
        }
        const text = buf.toString('latin1');
        for (let i = 0; i < text.length; i += 80) if (text.slice(i, i + 80) === text.slice(i + 80, i + 160)) seen.duplicate++;
      }),
      { seed: SEED, numRuns: runs(1000) },
    );
    for (const [what, n] of Object.entries(seen)) expect(n, what).to.be.greaterThan(20);
  });

  it('valid long strings joined by CONTINUE read the same', () => {
    const piece = chars(" abcXYZ'&/", 12);
    fc.assert(
      fc.property(keyword, fc.array(piece, { minLength: 1, maxLength: 5 }), fc.boolean(), keyword, field, (k, pieces, lastAmp, k2, f2) => {
        const cards = pieces.map((p, i) => {
          const s = `'${p.replace(/'/g, "''")}${i < pieces.length - 1 || lastAmp ? '&' : ''}'`;
          return pad(i === 0 ? `${k.padEnd(8)}= ${s}` : `CONTINUE  ${s}`);
        });
        const buf = Buffer.from([SIMPLE, ...cards, pad(`${k2.padEnd(8)}= ${f2}`), pad('END')].join('').padEnd(2 * BLOCK), 'latin1');
        expect(outcome(() => parseHeader(buf), 'lookups-first')).to.deep.equal(outcome(() => refParseHeader(buf), 'lookups-first'));
      }),
      { seed: SEED, numRuns: runs(1500) },
    );
  });

  it('dataSize: the same size or the same FitsError for random structural keywords', () => {
    // Mostly valid values (so sizes are computed, not only refused), each sometimes hostile, absent or repeated.
    const some = (valid: fc.Arbitrary<string>): fc.Arbitrary<string[]> =>
      fc.oneof({ weight: 8, arbitrary: valid.map((v) => [v]) }, { weight: 1, arbitrary: structural.map((v) => [v]) }, { weight: 1, arbitrary: fc.constant([] as string[]) }, { weight: 1, arbitrary: fc.tuple(valid, structural).map(([a, b]) => [a, b]) });
    const small = fc.oneof(fc.nat(3000).map(String), fc.constantFrom('0', '-0', '+2', '007', '1048576', '33554432'));
    const keywords = fc.record({
      BITPIX: some(fc.constantFrom('8', '16', '32', '64', '-32', '-64')),
      NAXIS: some(fc.constantFrom('0', '1', '2', '3')),
      NAXIS1: some(small),
      NAXIS2: some(small),
      NAXIS3: some(small),
      PCOUNT: some(small),
      GCOUNT: some(small),
      GROUPS: some(fc.constantFrom('T', 'F')),
    });
    let sized = 0;
    fc.assert(
      fc.property(keywords, fc.boolean(), (kws, primary) => {
        const cards = Object.entries(kws).flatMap(([kw, vs]) => vs.map((v) => pad(`${kw.padEnd(8)}= ${v.padStart(20)}`)));
        const buf = Buffer.from([SIMPLE, ...cards, pad('END')].join('').padEnd(BLOCK), 'latin1');
        const size = (f: () => number) => {
          try {
            return { size: f() };
          } catch (err) {
            if (!(err instanceof FitsError)) throw err;
            return { message: err.message };
          }
        };
        const ours = size(() => dataSize(parseHeader(buf), primary));
        const ref = size(() => refDataSize(refParseHeader(buf), primary));
        expect(ours).to.deep.equal(ref);
        // -0 and 0 are the same size but not the same number: the file offset must not differ even so.
        if ('size' in ours) expect(Object.is(ours.size, (ref as { size: number }).size)).to.equal(true);
        if ((ref as { size?: number }).size) sized++;
      }),
      { seed: SEED, numRuns: runs(3000) },
    );
    expect(sized).to.be.greaterThan(300);
  });

  it('whole files (primary, extensions, random groups, .fz layout, trailing bytes): the same HDUs or the same FitsError', () => {
    fc.assert(
      fc.property(fileBytes, fc.nat(4), (buf, maxHdus) => {
        const max = maxHdus === 0 ? undefined : maxHdus;
        expect(walked(() => walkHdus(new MemSource(buf), max))).to.deep.equal(walked(() => refWalkHdus(new MemSource(buf), max)));
      }),
      { seed: SEED, numRuns: runs(1500) },
    );
  });

  it('gzip\'d files read through GzipSource: the same HDUs or the same FitsError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-fits-eq-'));
    let n = 0;
    fc.assert(
      fc.property(fileBytes, (buf) => {
        const path = join(dir, `f${n++}.fits.gz`);
        writeFileSync(path, gzipSync(buf));
        const fd = openSync(path, 'r');
        try {
          const walk = (w: typeof walkHdus | typeof refWalkHdus) => () => {
            const source = new GzipSource(fd);
            try {
              return w(source);
            } finally {
              source.close();
            }
          };
          expect(walked(walk(walkHdus))).to.deep.equal(walked(walk(refWalkHdus)));
        } finally {
          closeSync(fd);
        }
      }),
      { seed: SEED, numRuns: runs(150) },
    );
  });
});
