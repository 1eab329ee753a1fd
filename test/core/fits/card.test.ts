import { expect } from 'chai';
import fc from 'fast-check';
import { parseCard } from '../../../core/fits/card.js';
import { BLOCK, FitsError, parseHeader } from '../../../core/fits/header.js';
import { FitsNumber, plain } from '../../../core/fits/value.js';
import { header } from '../../support/fits.js';

const value = (image: string) => {
  const c = parseCard(image.padEnd(80));
  if (c.kind !== 'value') throw new Error(`not a value card: ${c.kind}`);
  return c;
};
const entry = (cards: string[], keyword = 'CAMPAIGN') => parseHeader(header(cards)).entry(keyword);

describe('core/fits/card and long strings', () => {
  it('keeps integers exact: the card\'s digits, never a double (9007199254740993 stays ...993)', () => {
    expect((value('PROPOSID=     9007199254740993').value as FitsNumber).toString()).to.equal('9007199254740993');
    expect((value('OBS_ID  = 12345678901234567891').value as FitsNumber).bigint()).to.equal(12345678901234567891n);
    // astropy: int('-0012') == -12, str() gives '-12'
    expect(String(value('NEG     =                -0012').value)).to.equal('-12');
    expect(plain(value('R       =               1.5D+3').value)).to.equal(1500);
  });

  it('reads strings per §4.2.1.1: \'\' is a quote, leading blanks kept, trailing blanks dropped, empty and blank strings', () => {
    expect(value("K       = 'o''brien   ' / c").value).to.equal("o'brien");
    expect(value("K       = '  lead'").value).to.equal('  lead');
    expect(value("K       = ''").value).to.equal('');
    expect(value("K       = '    '").value).to.equal('');
  });

  it('gives no value, with a reason, for cards astropy and the standard read differently', () => {
    expect(value("CAMPAIGN= 'x'' / CAMPAIGN = ''other'").problem).to.match(/read differently/);
    expect(value("CAMPAIGN= 'unterminated").problem).to.match(/closing quote/);
    expect(value("CAMPAIGN= 'abc' trailing").problem).to.match(/after the closing quote/);
    expect(value('CAMPAIGN= what is this').problem).to.match(/unparsable/);
    expect(value("campaign= 'low'")).to.include({ keyword: 'CAMPAIGN' }).and.have.property('problem');
    expect(value("CAMP= 'early'")).to.include({ keyword: 'CAMP' }).and.have.property('problem').that.match(/columns 9-10/);
    expect(value('CAMPAIGN  no indicator')).to.include({ keyword: 'CAMPAIGN' }).and.have.property('problem');
  });

  it('an undefined value (§4.2.5: "= " and nothing but a comment) is null, present', () => {
    expect(value('CAMPAIGN=').value).to.equal(null);
    expect(value('CAMPAIGN=                      / no value').value).to.equal(null);
    expect(entry(['CAMPAIGN='])).to.deep.equal({ value: null });
  });

  it('joins CONTINUE substrings per FITS 4.0 §4.2.1.2 (& removed, blanks before it kept, final blanks dropped)', () => {
    expect(entry(["CAMPAIGN= 'abc &'", "CONTINUE  'def&'", "CONTINUE  'ghi   ' / comment"])).to.deep.equal({ value: 'abc defghi' });
    expect(entry(["HIERARCH LONG KEY = 'ab&'", "CONTINUE  'cd'"], 'HIERARCH LONG KEY')).to.deep.equal({ value: 'abcd' });
    // a single card's trailing & is literal (astropy and CFITSIO agree)
    expect(entry(["CAMPAIGN= 'R&'"])).to.deep.equal({ value: 'R&' });
  });

  it('does not guess where astropy and the standard (or CFITSIO) disagree on CONTINUE', () => {
    // astropy joins: ABCDEF; the standard continues only a string ending in &: ABC
    expect(entry(["CAMPAIGN= 'ABC'", "CONTINUE  'DEF'"])!.problem).to.match(/does not end in &/);
    // last substring ends in &: astropy drops it, CFITSIO keeps it
    expect(entry(["CAMPAIGN= 'ab&'", "CONTINUE  'cd&'", "OBJECT  = 'x'"])!.problem).to.match(/last CONTINUE/);
    expect(entry(["CAMPAIGN= 'ab&'", "CONTINUE  'cd&'"])!.problem).to.match(/last CONTINUE/); // then END
    expect(entry([['PROPOSID', 12] as never, "CONTINUE  'x'"], 'PROPOSID')!.problem).to.match(/not a string/);
    expect(entry(["CAMPAIGN= 'ab&'", 'CONTINUE  12'])!.problem).to.match(/without a string/);
  });

  it('a duplicate keyword keeps the first value; a different second value makes it untrusted', () => {
    expect(entry(["CAMPAIGN= 'a'", "CAMPAIGN= 'a'"])).to.deep.equal({ value: 'a' });
    expect(entry(["CAMPAIGN= 'a'", "CAMPAIGN= 'b'"])!.problem).to.match(/more than once/);
    expect(entry(["CAMPAIGN= 'a'", "CAMPAIGN= 'b&'", "CONTINUE  'c'"])!.problem).to.match(/more than once/);
  });

  describe('property: any card or header bytes end in values or a FitsError, never another exception', () => {
    const printable = fc.string({ unit: fc.constantFrom(...' =\'&/()+-.,0123456789ADEFTZCONTIUHRS_abcz'.split('')), maxLength: 80 });
    const prefix = fc.constantFrom('CAMPAIGN= ', 'CONTINUE  ', 'HIERARCH A B = ', 'END', 'COMMENT ', 'PROPOSID= ', 'X= ', '        ', 'NAXIS1  = ');

    it('parseCard on 80 printable characters returns a card', () => {
      fc.assert(
        fc.property(prefix, printable, (p, rest) => {
          const c = parseCard((p + rest).padEnd(80).slice(0, 80));
          expect(['end', 'commentary', 'continue', 'value']).to.include(c.kind);
          if (c.kind === 'value' && c.string) expect(c.value).to.equal(c.string.text);
        }),
        { seed: 17, numRuns: 3000 },
      );
    });

    it('parseHeader on up to 3 blocks of arbitrary cards (or bytes) ends in a header or a FitsError', () => {
      const cardArb = fc.oneof(fc.tuple(prefix, printable).map(([p, r]) => (p + r).padEnd(80).slice(0, 80)), fc.constant('END'.padEnd(80)));
      const headerArb = fc.oneof(
        fc.array(cardArb, { maxLength: 108 }).map((cards) => Buffer.from(['SIMPLE  =                    T'.padEnd(80), ...cards].join('').padEnd(3 * BLOCK).slice(0, 3 * BLOCK), 'latin1')),
        fc.uint8Array({ maxLength: 3 * BLOCK }).map((b) => Buffer.from(b)),
      );
      fc.assert(
        fc.property(headerArb, (buf) => {
          try {
            const h = parseHeader(buf);
            expect(h.size % BLOCK).to.equal(0);
            for (const k of h.keywords()) h.entry(k);
          } catch (err) {
            if (!(err instanceof FitsError)) throw err;
          }
        }),
        { seed: 17, numRuns: 500 },
      );
    });
  });
});
