/**
 * The reference corpus: the FITS files Debian's astropy, numpy (and sunpy, when installed) ship,
 * copies of each in every container we read (gzip, fpack's .fz from libcfitsio-bin, .fz.gz, and
 * misnamed), and generated headers for the cases the FITS standard and astropy spell out.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { header, type Card } from '../../support/fits.js';

export const PYTHON = '/usr/bin/python3';
export const FPACK = '/usr/bin/fpack';
const ROOTS = ['/usr/lib/python3/dist-packages/astropy', '/usr/lib/python3/dist-packages/numpy', '/usr/lib/python3/dist-packages/sunpy'];
const NAME = /\.(fits?|fts)(\.gz)?$/i;

export function shippedFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && NAME.test(e.name)) out.push(p);
    }
  };
  for (const r of ROOTS) if (existsSync(r)) walk(r);
  return out.sort();
}

const EMPTY_PRIMARY: Card[] = [['SIMPLE', true], ['BITPIX', 8], ['NAXIS', 0], ['EXTEND', true]];
const image = (cards: Card[], n = 4): Buffer => Buffer.concat([header(cards, [['XTENSION', 'IMAGE'], ['BITPIX', 8], ['NAXIS', 1], ['NAXIS1', n], ['PCOUNT', 0], ['GCOUNT', 1]]), Buffer.alloc(2880)]);
const table = (cards: Card[]): Buffer => Buffer.concat([header(cards, [['XTENSION', 'BINTABLE'], ['BITPIX', 8], ['NAXIS', 2], ['NAXIS1', 4], ['NAXIS2', 1], ['PCOUNT', 0], ['GCOUNT', 1], ['TFIELDS', 1], ['TFORM1', '1J']]), Buffer.alloc(2880)]);

/** Generated files: name -> bytes. Each is a case FITS 4.0 or astropy's reading spells out. */
export function generatedFiles(): Record<string, Buffer> {
  const prim = (cards: Card[]) => header(cards);
  return {
    // §4.2.1.2: substrings end in &, which is removed; blanks before the & are kept.
    'continue.fits': prim(["CAMPAIGN= 'abc &'", "CONTINUE  'def&'", "CONTINUE  'ghi   ' / comment", ['OBJECT', 'after']]),
    // astropy joins a CONTINUE to a string without &; the standard does not continue it.
    'continue-no-amp.fits': prim(["CAMPAIGN= 'ABC'", "CONTINUE  'DEF'"]),
    // the last substring ends in &: astropy drops it, CFITSIO keeps it.
    'continue-last-amp.fits': prim(["CAMPAIGN= 'ab&'", "CONTINUE  'cd&'", ['OBJECT', 'x']]),
    // astropy unescapes '' in each substring and once more in the joined string: a''b
    'continue-quotes.fits': prim(["CAMPAIGN= 'a''''&'", "CONTINUE  'b'", "OBJECT  = 'o''''&'", "CONTINUE  'k'' x'"]),
    // only a blank END card ends the header (astropy reads END = 1 as a card and goes on, as we do)
    'end-with-value.fits': prim(['END     = 1', ['CAMPAIGN', 'afterend']]),
    'continue-empty.fits': prim(["CAMPAIGN= 'ab&'", "CONTINUE  '&'", "CONTINUE  ''", "OBJECT  = '&'", "CONTINUE  'x'", "TELESCOP= 'a &'", "CONTINUE  '   '"]),
    'hierarch-continue-no-amp.fits': prim(["HIERARCH OBS CAMPAIGN = 'ab'", "CONTINUE  'cd'", ['CAMPAIGN', 'plain']]),
    'numbers.fits': prim(['A       =                  1.0', 'B       =                   1.', 'C       =                 -0.0', 'D       =                1E300', 'E       =       0.000000000001', 'F       =   (  1 ,  2  )']),
    'continue-after-int.fits': prim([['PROPOSID', 12], "CONTINUE  'x'"]),
    'single-amp.fits': prim(["CAMPAIGN= 'R&D'", "OBJECT  = 'R&'"]),
    'hierarch.fits': prim(["HIERARCH ESO OBS PROG ID = '60.A-9000(A)'", "HIERARCH LONG = 'ab&'", "CONTINUE  'cd'", ['CAMPAIGN', 'h1']]),
    'quotes.fits': prim(["CAMPAIGN= 'o''brien'", "OBJECT  = '''quoted'''", "LEAD    = '  lead'", "EMPTY   = ''", "BLANK   = '   '"]),
    'quote-inject.fits': prim(["CAMPAIGN= 'x'' / CAMPAIGN = ''other'"]),
    'bigint.fits': prim(["PROPOSID=     9007199254740993", "OBS_ID  = 12345678901234567891", "NEG     =                -0012", "PLUS    =                  +42"]),
    'reals.fits': prim(["EXPTIME =               1.5D+3", "SMALL   =              -.5E-10", "LOWER   =                1.5e3", "CPLX    = (1.5, -2)", "FLAG    =                    F"]),
    'undefined.fits': prim(['CAMPAIGN=', "OBJECT  =                      / only a comment"]),
    'duplicate.fits': prim([['CAMPAIGN', 'first'], ['CAMPAIGN', 'second']]),
    'lowercase-keyword.fits': prim(["campaign= 'low'"]),
    'early-equals.fits': prim(["CAMP= 'early'"]),
    'no-indicator.fits': prim(['CAMPAIGN  abc']),
    // the campaign only in an extension (a Chandra file has OBS_ID only in its table HDU)
    'image-ext.fits': Buffer.concat([header([], EMPTY_PRIMARY), image([['CAMPAIGN', 'inimage']])]),
    'table-ext.fits': Buffer.concat([header([], EMPTY_PRIMARY), table([['OBS_ID', 'intable']])]),
    // §6 random groups: NAXIS1 = 0, data = GCOUNT * (PCOUNT + NAXIS2...) elements; then an image extension
    'groups-then-image.fits': Buffer.concat([
      header([], [['SIMPLE', true], ['BITPIX', 16], ['NAXIS', 2], ['NAXIS1', 0], ['NAXIS2', 3], ['GROUPS', true], ['PCOUNT', 2], ['GCOUNT', 700], ['EXTEND', true]]),
      Buffer.alloc(Math.ceil((2 * 700 * 5) / 2880) * 2880),
      image([['CAMPAIGN', 'aftergroups']]),
    ]),
  };
}

/** Every variant of one plain FITS file: gzip'd (.gz and misnamed .fits), .fts.gz, fpack'd (.fz, misnamed .fits, .fz.gz). */
export function variants(src: string, dir: string, tag: string): string[] {
  const out: string[] = [];
  const data = readFileSync(src);
  const plain = data[0] === 0x1f ? gunzipSync(data) : data;
  const write = (name: string, bytes: Buffer) => {
    const p = join(dir, `${tag}${name}`);
    writeFileSync(p, bytes);
    out.push(p);
  };
  // astropy 5.2 loops without end on a gzip'd file whose primary is not SIMPLE = T (_NonstandardHDU);
  // we refuse those files in any container, so the plain copy is the one compared.
  if (!plain.subarray(0, 30).toString('latin1').startsWith('SIMPLE  =                    T')) return out;
  if (data[0] === 0x1f) write('.fits', plain);
  write('.fits.gz', gzipSync(plain));
  write('.gz-named.fits', gzipSync(plain));
  write('.fts.gz', gzipSync(plain));
  const base = join(dir, `${tag}.src.fits`);
  writeFileSync(base, plain);
  try {
    execFileSync(FPACK, ['-O', join(dir, `${tag}.fz`), base], { stdio: 'pipe' });
  } catch {
    return out; // fpack refuses some files (e.g. no image to compress); their gzip copies remain
  }
  const fz = readFileSync(join(dir, `${tag}.fz`));
  out.push(join(dir, `${tag}.fz`));
  write('.fpack-named.fits', fz);
  write('.fz.gz', gzipSync(fz));
  return out;
}

