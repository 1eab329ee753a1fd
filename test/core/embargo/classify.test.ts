import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { anyGlob, Classifier, globToRegExp, type Classification } from '../../../core/embargo/classify.js';
import fc from 'fast-check';
import { classificationSchema } from '../../../core/embargo/rules.js';
import { readFitsFile, type FitsHeaders } from '../../../core/fits/detect.js';
import { fitsFile, fzFile, header, type Card } from '../../support/fits.js';

const EMPTY_PRIMARY: Card[] = [['SIMPLE', true], ['BITPIX', 8], ['NAXIS', 0], ['EXTEND', true]];
const ext = (xtension: string, cards: Card[]) =>
  Buffer.concat([header(cards, [['XTENSION', xtension], ['BITPIX', 8], ['NAXIS', 2], ['NAXIS1', 4], ['NAXIS2', 1], ['PCOUNT', 0], ['GCOUNT', 1], ...(xtension === 'BINTABLE' ? [['TFIELDS', 1] as Card] : [])]), Buffer.alloc(2880)]);

describe('core/embargo/classify: campaign from the headers, where it lives, exactly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cg-classify-'));
  let n = 0;
  const headers = (data: Buffer): FitsHeaders => {
    const p = join(dir, `f${n++}.fits`);
    writeFileSync(p, data);
    const r = readFitsFile(p);
    if (r.kind !== 'fits') throw new Error(r.reason);
    return r.headers;
  };
  const classify = (data: Buffer, rules: object = {}): Classification => new Classifier(classificationSchema.parse(rules)).classify('/data/x.fits', headers(data));

  it('primary header first; records the HDU and keyword', () => {
    expect(classify(fitsFile([['CAMPAIGN', 'flare']]))).to.deep.equal({ kind: 'science', campaign: 'flare', reason: 'CAMPAIGN in HDU 0 (primary) = flare', source: { hdu: 0, hduKind: 'primary', keyword: 'CAMPAIGN' } });
    expect(classify(fitsFile([['OBS_ID', 'low'], ['PROPOSID', 'high']]))).to.include({ campaign: 'high' }); // keyword priority within one HDU
  });

  it('then image and compressed-image extensions in file order (gzip\'d too); tables only when configured', () => {
    const img = Buffer.concat([header([], EMPTY_PRIMARY), ext('IMAGE', [['CAMPAIGN', 'inimage']])]);
    expect(classify(img)).to.deep.include({ campaign: 'inimage', source: { hdu: 1, hduKind: 'image', keyword: 'CAMPAIGN' } });
    expect(classify(gzipSync(fzFile([['CAMPAIGN', 'compressed']])))).to.deep.include({ campaign: 'compressed', source: { hdu: 1, hduKind: 'compressed-image', keyword: 'CAMPAIGN' } });
    const chandra = Buffer.concat([header([], EMPTY_PRIMARY), ext('BINTABLE', [['OBS_ID', 'intable']])]);
    expect(classify(chandra).kind).to.equal('no-campaign');
    expect(classify(chandra, { campaignHdus: ['primary', 'table'] })).to.deep.include({ campaign: 'intable', source: { hdu: 1, hduKind: 'table', keyword: 'OBS_ID' } });
    // file order: a second image extension does not win over the first
    const two = Buffer.concat([header([], EMPTY_PRIMARY), ext('IMAGE', [['PROPOSID', 'first']]), ext('IMAGE', [['CAMPAIGN', 'second']])]);
    expect(classify(two)).to.include({ campaign: 'first' });
  });

  it('a keyword present without a value is an invalid campaign, never a fall-through to another keyword or HDU', () => {
    expect(classify(fitsFile(['CAMPAIGN=', ['PROPOSID', 'other']]))).to.include({ kind: 'invalid-campaign' }).and.have.property('reason').that.match(/without a value/);
    expect(classify(fitsFile([['CAMPAIGN', '']]))).to.include({ kind: 'invalid-campaign' });
    // .fz: an undefined CAMPAIGN in the image header, a value in the primary: not ours to choose
    const fz = fzFile(['CAMPAIGN=']);
    const withPrimary = Buffer.concat([header([['CAMPAIGN', 'flare']], EMPTY_PRIMARY), fz.subarray(2880)]);
    expect(classify(withPrimary)).to.include({ kind: 'invalid-campaign' }).and.have.property('reason').that.match(/HDU 1 \(compressed-image\) has CAMPAIGN too/);
    expect(classify(fz)).to.deep.include({ kind: 'invalid-campaign', source: { hdu: 1, hduKind: 'compressed-image', keyword: 'CAMPAIGN' } });
  });

  it('the same campaign repeated in extensions is fine; a different one is quarantined', () => {
    const same = Buffer.concat([header([['CAMPAIGN', 'flare']], EMPTY_PRIMARY), ext('IMAGE', [['CAMPAIGN', 'flare']])]);
    expect(classify(same)).to.include({ kind: 'science', campaign: 'flare' });
    const other = Buffer.concat([header([['CAMPAIGN', 'flare']], EMPTY_PRIMARY), ext('IMAGE', [['CAMPAIGN', 'other']])]);
    expect(classify(other)).to.include({ kind: 'invalid-campaign' });
  });

  it('values exactly: integers as their digits, no float rendering, no case folding unless configured', () => {
    expect(classify(fitsFile(['PROPOSID=     9007199254740993']))).to.include({ kind: 'invalid-campaign', value: '9007199254740993' });
    expect(classify(fitsFile(['PROPOSID=                 1e10']))).to.include({ kind: 'invalid-campaign' }).and.have.property('reason').that.match(/not a string or an integer/);
    expect(classify(fitsFile([['CAMPAIGN', 'FLARE']]))).to.include({ kind: 'invalid-campaign', value: 'FLARE' });
    expect(classify(fitsFile([['CAMPAIGN', 'FLARE']]), { campaignCase: 'lower' })).to.include({ kind: 'science', campaign: 'flare' });
    expect(classify(fitsFile(["CAMPAIGN= '  flare'"]))).to.include({ kind: 'invalid-campaign' }); // leading blanks are significant (§4.2.1.1)
    expect(classify(fitsFile(["CAMPAIGN= 'flare   '"]))).to.include({ kind: 'science', campaign: 'flare' }); // trailing ones are not
  });

  it('cards read differently by astropy and the standard quarantine the file instead of choosing', () => {
    for (const cards of [["CAMPAIGN= 'ABC'", "CONTINUE  'DEF'"], ["CAMPAIGN= 'ab&'", "CONTINUE  'cd&'"], ["CAMPAIGN= 'x'' / CAMPAIGN = ''flare'"], ["campaign= 'flare'"], [['CAMPAIGN', 'flare'], ['CAMPAIGN', 'other']]] as Card[][]) {
      expect(classify(fitsFile(cards)), JSON.stringify(cards)).to.include({ kind: 'invalid-campaign' });
    }
    // HIERARCH CAMPAIGN is another keyword: it neither counts nor shadows CAMPAIGN
    expect(classify(fitsFile(["HIERARCH CAMPAIGN = 'flare'"])).kind).to.equal('no-campaign');
  });

  it('a campaign possibly in an HDU not read (walk stopped at a bound) is not decided', () => {
    const many = Buffer.concat([header([], EMPTY_PRIMARY), ...Array.from({ length: 70 }, () => ext('IMAGE', [])), ext('IMAGE', [['CAMPAIGN', 'late']])]);
    expect(classify(many)).to.include({ kind: 'invalid-campaign' }).and.have.property('reason').that.match(/more than 64 HDUs/);
    const found = Buffer.concat([header([['CAMPAIGN', 'early']], EMPTY_PRIMARY), ...Array.from({ length: 70 }, () => ext('IMAGE', []))]);
    expect(classify(found)).to.include({ kind: 'science', campaign: 'early' });
  });

  it('public by header only from a trusted value', () => {
    expect(classify(fitsFile([['CAMPAIGN', 'flare'], ['LEVEL', 'QL']]))).to.include({ kind: 'public', campaign: 'flare' });
    expect(classify(fitsFile([['CAMPAIGN', 'flare'], "LEVEL   = 'QL'", "CONTINUE  'X'"]))).to.include({ kind: 'science' });
  });
});

describe('core/embargo/classify: anyGlob', () => {
  // The combined regex (with `.*` written once when every glob starts with `*`) matches exactly the names one of its globs matches.
  const glob = fc.array(fc.constantFrom('*', '?', '.', 'a', 'B', '_', 'ql', 'fits', '(', '[', '+', '\\'), { minLength: 1, maxLength: 5 }).map((p) => p.join(''));
  const name = fc.array(fc.constantFrom('a', 'A', 'b', '.', '_', 'ql', 'fits', '\n', '(', '[', '+', '\\', 'x'), { maxLength: 8 }).map((p) => p.join(''));
  it('matches a name exactly when one of the globs does, factored or not (property)', () => {
    for (const starred of [true, false]) {
      fc.assert(fc.property(fc.array(glob.map((g) => (starred ? `*${g}` : g)), { minLength: 1, maxLength: 4 }), fc.array(name, { minLength: 1, maxLength: 10 }), (globs, names) => {
        const any = anyGlob(globs);
        for (const n of names) expect(any.test(n), `${JSON.stringify(globs)} on ${JSON.stringify(n)}`).to.equal(globs.some((g) => globToRegExp(g).test(n)));
      }), { seed: 7, numRuns: 400 });
    }
  });

  it('the default public names: `.*` once, case-insensitive, a newline in a name not crossed', () => {
    const any = anyGlob(['*.png', '*.jpg', '*_ql.fits']);
    expect(any.source).to.equal('^.*(?:\\.png|\\.jpg|_ql\\.fits)$');
    expect(any.test('sun.PNG')).to.equal(true);
    expect(any.test('a_ql.fits')).to.equal(true);
    expect(any.test('a.fits')).to.equal(false);
    expect(any.test('x\ny.png')).to.equal(false);
    expect(anyGlob([]).test('')).to.equal(false);
  });
});
