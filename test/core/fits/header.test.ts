import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFitsFile, type FitsHeaders } from '../../../core/fits/detect.js';
import { FitsError, parseHeader } from '../../../core/fits/header.js';
import { FitsNumber, plain } from '../../../core/fits/value.js';
import { card, fitsFile, fzFile, gzFile, header } from '../../support/fits.js';

describe('core/fits/header', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cg-fits-'));
  const readFitsHeaders = (p: string): FitsHeaders => {
    const r = readFitsFile(p);
    if (r.kind !== 'fits') throw new Error(r.reason);
    return r.headers;
  };
  const file = (name: string, data: Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, data);
    return p;
  };

  it('reads strings with doubled quotes, numbers, logicals and comments', () => {
    const h = parseHeader(header([['CAMPAIGN', "o'brien-1", 'the campaign'], ['EXPTIME', 1.5], ['NEXP', 42], ['FLAG', false], "DBL     =               1.5D+3 / Fortran exponent", ['EMPTY', '']]));
    expect(h.get('CAMPAIGN')).to.equal("o'brien-1");
    expect(plain(h.get('EXPTIME')!)).to.equal(1.5);
    expect(plain(h.get('NEXP')!)).to.deep.equal({ integer: '42' });
    expect(h.get('FLAG')).to.equal(false);
    expect((h.get('DBL') as FitsNumber).toNumber()).to.equal(1500);
    expect(h.get('EMPTY')).to.equal('');
    expect(h.size).to.equal(2880);
  });

  it('joins CONTINUE long strings', () => {
    const h = parseHeader(header(["LONGSTR = 'first part &'", "CONTINUE  'second part &'", "CONTINUE  'end'", ['AFTER', 1]]));
    expect(h.get('LONGSTR')).to.equal('first part second part end');
    expect(plain(h.get('AFTER')!)).to.deep.equal({ integer: '1' });
  });

  it('keeps HIERARCH keywords apart, so they cannot shadow standard ones; the first duplicate wins', () => {
    const h = parseHeader(header([['CAMPAIGN', 'real'], "HIERARCH CAMPAIGN = 'shadow'", "HIERARCH ESO OBS PROG ID = '60.A-9000'", ['CAMPAIGN', 'real']]));
    expect(h.entry('CAMPAIGN')).to.deep.equal({ value: 'real' });
    expect(h.get('HIERARCH CAMPAIGN')).to.equal('shadow');
    expect(h.get('HIERARCH ESO OBS PROG ID')).to.equal('60.A-9000');
  });

  it('names a quote-injection attempt that astropy would read as a different string (x\' vs the standard\'s whole string)', () => {
    const h = parseHeader(header(["CAMPAIGN= 'x'' / CAMPAIGN = ''other'"]));
    expect(h.entry('CAMPAIGN')!.problem).to.match(/astropy and the FITS standard read differently/);
  });

  it('reads headers longer than one block', () => {
    const cards = Array.from({ length: 80 }, (_, i) => ['KEY' + i, i] as [string, number]);
    const p = file('long.fits', fitsFile([...cards, ['CAMPAIGN', 'late']], 100));
    expect(readFitsHeaders(p).primary.get('CAMPAIGN')).to.equal('late');
  });

  it('reads .fz: the compressed image header is the first extension', () => {
    const p = file('img.fits.fz', fzFile([['CAMPAIGN', 'flare']]));
    const h = readFitsHeaders(p);
    expect(h.compressed!.get('ZIMAGE')).to.equal(true);
    expect(h.hdus.map((x) => x.kind)).to.deep.equal(['primary', 'compressed-image']);
    expect(h.compressed!.get('CAMPAIGN')).to.equal('flare');
  });

  it('reads .gz through gunzip, only as far as the header needs', () => {
    const p = file('img.fits.gz', gzFile([['CAMPAIGN', 'flare']], 5_000_000));
    expect(readFitsHeaders(p).primary.get('CAMPAIGN')).to.equal('flare');
  });

  it('refuses non-FITS, truncated, END-less, non-ASCII and broken gzip input with clear errors', () => {
    expect(() => readFitsHeaders(file('text.fits', Buffer.from('hello world\n'.repeat(300))))).to.throw(FitsError, /neither FITS nor gzip/);
    expect(() => readFitsHeaders(file('empty.fits', Buffer.alloc(0)))).to.throw(FitsError, /neither FITS nor gzip/);
    expect(() => readFitsHeaders(file('simple.fits', Buffer.from('SIMPLE  = ')))).to.throw(FitsError, /truncated: 10 bytes/);
    const full = fitsFile([['CAMPAIGN', 'x']]);
    expect(() => readFitsHeaders(file('trunc.fits', full.subarray(0, 250)))).to.throw(FitsError, /truncated/);
    const noEnd = Buffer.from([card(['SIMPLE', true]), ...Array.from({ length: 35 }, () => card(['X', 1]))].join(''), 'ascii');
    expect(() => readFitsHeaders(file('noend.fits', noEnd))).to.throw(FitsError, /truncated/);
    const bin = Buffer.from(full);
    bin[100] = 0xc3;
    expect(() => readFitsHeaders(file('bin.fits', bin))).to.throw(FitsError, /not printable ASCII/);
    expect(() => readFitsHeaders(file('bad.fits.gz', Buffer.from('not gzip at all')))).to.throw(FitsError, /neither FITS nor gzip/);
    expect(() => readFitsHeaders(file('bad2.fits.gz', Buffer.from([0x1f, 0x8b, 0x08, 0xff, 1, 2, 3])))).to.throw(FitsError, /gzip/);
    expect(() => readFitsHeaders(file('halfgz.fits.gz', gzipSync(full).subarray(0, 30)))).to.throw(FitsError);
  });
});
