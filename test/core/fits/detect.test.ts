import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { readFitsFile, readFitsFromFd } from '../../../core/fits/detect.js';
import { dataSize } from '../../../core/fits/hdus.js';
import { BLOCK, FitsError, parseHeader } from '../../../core/fits/header.js';
import { fitsFile, fzFile, header, type Card } from '../../support/fits.js';
import { FPACK } from './corpus.js';

const EMPTY_PRIMARY: Card[] = [['SIMPLE', true], ['BITPIX', 8], ['NAXIS', 0], ['EXTEND', true]];
const imageExt = (cards: Card[]) => Buffer.concat([header(cards, [['XTENSION', 'IMAGE'], ['BITPIX', 8], ['NAXIS', 1], ['NAXIS1', 10], ['PCOUNT', 0], ['GCOUNT', 1]]), Buffer.alloc(BLOCK)]);

describe('core/fits/detect: containers by content, HDUs walked with exact offsets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cg-detect-'));
  const write = (name: string, data: Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, data);
    return p;
  };
  const read = (name: string, data: Buffer) => {
    const r = readFitsFile(write(name, data));
    if (r.kind !== 'fits') throw new Error(`not fits: ${r.reason}`);
    return r;
  };

  it('recognises gzip, fpack and plain FITS by their bytes whatever the name (.fz.gz, .fts.gz, .fit.gz, misnamed)', () => {
    const plain = fitsFile([['CAMPAIGN', 'flare']], 3000);
    const fz = fzFile([['CAMPAIGN', 'flare']]);
    const cases: [string, Buffer, string][] = [
      ['a.fits', plain, 'primary'], ['gzip-named.fits', gzipSync(plain), 'primary'], ['plain-named.fits.gz', plain, 'primary'],
      ['b.fts.gz', gzipSync(plain), 'primary'], ['c.fit.gz', gzipSync(plain), 'primary'], ['d.fz.gz', gzipSync(fz), 'compressed-image'],
      ['fpack-named.fits', fz, 'compressed-image'], ['e.fits.fz', fz, 'compressed-image'], ['noext', gzipSync(fz), 'compressed-image'],
    ];
    for (const [name, data, kind] of cases) {
      const r = read(name, data);
      const h = r.headers.hdus.at(-1)!;
      expect(h.kind, name).to.equal(kind);
      expect(h.header.get('CAMPAIGN'), name).to.equal('flare');
      expect(r.container, name).to.equal(data[0] === 0x1f ? 'gzip' : 'plain');
    }
  });

  it('reads a real fpack (CFITSIO) file, also gzip\'d and misnamed', function () {
    const src = write('img.fits', Buffer.concat([header([['CAMPAIGN', 'fpacked']], [['SIMPLE', true], ['BITPIX', 16], ['NAXIS', 2], ['NAXIS1', 100], ['NAXIS2', 100]]), Buffer.alloc(Math.ceil(20000 / BLOCK) * BLOCK)]));
    execFileSync(FPACK, ['-O', join(dir, 'img.fz'), src]);
    const fz = readFileSync(join(dir, 'img.fz'));
    for (const [name, data] of [['img.fz', fz], ['img.fz.gz', gzipSync(fz)], ['fpacked.fits', fz], ['fpacked-gz.fits', gzipSync(fz)]] as const) {
      const r = read(name, data);
      expect(r.headers.hdus.map((h) => h.kind), name).to.deep.equal(['primary', 'compressed-image']);
      expect(r.headers.compressed?.get('CAMPAIGN'), name).to.equal('fpacked');
    }
  });

  it('not-fits only when neither content nor name says FITS; a FITS name with other content is a FitsError', () => {
    const fd = (name: string, data: Buffer) => {
      const p = write(name, data);
      const f = openSync(p, 'r');
      try {
        const first = Buffer.alloc(BLOCK);
        return readFitsFromFd(f, first.subarray(0, readSync(f, first, 0, BLOCK, 0)), p);
      } finally {
        closeSync(f);
      }
    };
    expect(fd('x.png', Buffer.from('\x89PNG\r\n')).kind).to.equal('not-fits');
    expect(fd('log.txt.gz', gzipSync('hello')).kind).to.equal('not-fits');
    expect(fd('data.tar.gz', Buffer.from([0x1f, 0x8b, 8, 0, 1, 2])).kind).to.equal('not-fits');
    expect(() => fd('log.fits.gz', gzipSync('hello'))).to.throw(FitsError, /not FITS/);
    expect(() => fd('x.fts', Buffer.from('\x89PNG\r\n'))).to.throw(FitsError, /neither FITS nor gzip/);
  });

  it('reads valid gzip files of any size: long headers (2-199 blocks) over a 1024x1024 image', () => {
    for (const blocks of [2, 60, 199]) {
      const cards: Card[] = Array.from({ length: blocks * 36 - 8 }, (_, i) => [`K${i}`, i]);
      const data = fitsFile([...cards, ['CAMPAIGN', `late${blocks}`]], 1024 * 1024);
      const r = read(`long${blocks}.fits.gz`, gzipSync(data));
      expect(r.headers.primary.get('CAMPAIGN')).to.equal(`late${blocks}`);
      expect(r.headers.stopped).to.equal(undefined);
    }
    expect(() => read('toolong.fits.gz', gzipSync(fitsFile(Array.from({ length: 200 * 36 }, (_, i): Card => [`K${i}`, i]))))).to.throw(FitsError, /200 header blocks/);
  });

  it('finds the next HDU after random groups (§6: NAXIS1 = 0, GCOUNT*(PCOUNT+NAXIS2...)) and after PCOUNT heaps', () => {
    const groups = header([], [['SIMPLE', true], ['BITPIX', -32], ['NAXIS', 3], ['NAXIS1', 0], ['NAXIS2', 3], ['NAXIS3', 2], ['GROUPS', true], ['PCOUNT', 4], ['GCOUNT', 500], ['EXTEND', true]]);
    expect(dataSize(parseHeader(groups), true)).to.equal(Math.ceil((4 * 500 * (4 + 6)) / BLOCK) * BLOCK);
    const heap = header([], [['XTENSION', 'BINTABLE'], ['BITPIX', 8], ['NAXIS', 2], ['NAXIS1', 8], ['NAXIS2', 100], ['PCOUNT', 5000], ['GCOUNT', 1], ['TFIELDS', 1]]);
    expect(dataSize(parseHeader(heap, 0, 'XTENSION'), false)).to.equal(Math.ceil(5800 / BLOCK) * BLOCK);
    const file = Buffer.concat([groups, Buffer.alloc(dataSize(parseHeader(groups), true)), fzFile([['CAMPAIGN', 'aftergroups']]).subarray(BLOCK)]);
    for (const [name, data] of [['g.fits', file], ['g.fits.gz', gzipSync(file)]] as const) {
      const r = read(name, data);
      expect(r.headers.hdus.map((h) => h.kind), name).to.deep.equal(['primary', 'compressed-image']);
      expect(r.headers.compressed!.get('CAMPAIGN'), name).to.equal('aftergroups');
    }
  });

  it('hostile structural keywords end in a FitsError, never NaN offsets or a RangeError', () => {
    const bad: Card[][] = [
      [['NAXIS', 1], ['NAXIS1', 1.5]], [['NAXIS', 1], ['NAXIS1', -1]], [['NAXIS', 1], 'NAXIS1  = 99999999999999999999999'],
      [['NAXIS', 2], ['NAXIS1', 2 ** 30], ['NAXIS2', 2 ** 30]], [['NAXIS', 1000]], [['NAXIS', 1]], [['NAXIS', 'two']],
      ['NAXIS   =                    1', 'NAXIS1  = NaN'],
    ];
    for (const cards of bad) {
      const h = header([], [['SIMPLE', true], ['BITPIX', 8], ...cards]);
      expect(() => read(`bad${bad.indexOf(cards)}.fits`, h), JSON.stringify(cards)).to.throw(FitsError);
    }
    expect(() => read('bitpix.fits', header([], [['SIMPLE', true], ['BITPIX', 7], ['NAXIS', 0]]))).to.throw(FitsError, /BITPIX/);
  });

  it('walks at most 64 HDUs and records why it stopped; bytes after the last HDU are ignored as astropy does', () => {
    const many = Buffer.concat([header([], EMPTY_PRIMARY), ...Array.from({ length: 70 }, (_, i) => imageExt([['CAMPAIGN', `c${i}`]]))]);
    const r = read('many.fits', many);
    expect(r.headers.hdus).to.have.length(64);
    expect(r.headers.stopped).to.match(/more than 64 HDUs/);
    const trailing = read('trailing.fits', Buffer.concat([fitsFile([['CAMPAIGN', 'x']]), Buffer.from('garbage'.repeat(500))]));
    expect(trailing.headers.hdus).to.have.length(1);
    expect(trailing.headers.stopped).to.match(/not an extension/);
  });

  it('with the caller\'s file size, reads every HDU inside it and none beyond it', () => {
    const two = Buffer.concat([fitsFile([['CAMPAIGN', 'a']], 100), imageExt([['CAMPAIGN', 'b']])]);
    const p = write('sized.fits', two);
    const f = openSync(p, 'r');
    try {
      const first = Buffer.alloc(BLOCK);
      readSync(f, first, 0, BLOCK, 0);
      const all = readFitsFromFd(f, first, p, { size: two.length });
      expect(all.kind === 'fits' && all.headers.hdus.length).to.equal(2);
      const primaryOnly = readFitsFromFd(f, first, p, { size: 2 * BLOCK });
      expect(primaryOnly.kind === 'fits' && primaryOnly.headers.hdus.length).to.equal(1);
    } finally {
      closeSync(f);
    }
  });

  it('property: any bytes, plain or gzip\'d, after a SIMPLE card or not, end in a result or a FitsError', () => {
    const blocks = fc.array(fc.constantFrom(fitsFile([['CAMPAIGN', 'a']]), imageExt([]), header([], [['XTENSION', 'BINTABLE'], ['BITPIX', 8], ['NAXIS', 2], ['NAXIS1', 3], ['NAXIS2', 7], ['PCOUNT', 9], ['GCOUNT', 1], ['ZIMAGE', true]]), Buffer.alloc(BLOCK), Buffer.from('SIMPLE  = ')), { maxLength: 4 });
    const mutate = fc.tuple(blocks, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(4 * BLOCK), fc.boolean());
    let n = 0;
    fc.assert(
      fc.property(mutate, ([parts, edits, cut, gz]) => {
        const plain = Buffer.concat(parts);
        for (const [at, byte] of edits) if (plain.length) plain[at % plain.length] = byte;
        let data = gz ? gzipSync(plain) : plain;
        if (cut % 3 === 0) data = data.subarray(0, cut % (data.length + 1));
        const p = write(`prop${n++}.fits`, data);
        try {
          const r = readFitsFile(p, { gzip: { maxInflated: 1 << 20, maxPreamble: 1 << 16, maxMillis: 5000 } });
          if (r.kind === 'fits') expect(r.headers.hdus.length).to.be.within(1, 64);
        } catch (err) {
          if (!(err instanceof FitsError)) throw err;
        }
      }),
      { seed: 17, numRuns: 400 },
    );
  });
});
