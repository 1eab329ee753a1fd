/**
 * Our reader against astropy (Debian python3-astropy, the reference FITS library) on the
 * reference corpus (./corpus.ts): every HDU, every keyword value we give must be astropy's.
 * What we do not trust (a card astropy and the FITS standard read differently) we give no value
 * for: such keywords, and any file we refuse, must be named below with the reason, and every
 * named difference must still occur (so the list stays true).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { readFitsFile } from '../../../core/fits/detect.js';
import { FitsError } from '../../../core/fits/header.js';
import { FitsComplex, FitsNumber, type FitsValue } from '../../../core/fits/value.js';
import { generatedFiles, PYTHON, shippedFiles, variants } from './corpus.js';

type PyValue = { s: string } | { b: boolean } | { i: string } | { f: string } | { c: [string, string] } | { u: true } | { err: string } | { other: string };
type PyHdu = { cls: string; header: Record<string, PyValue>; raw?: Record<string, PyValue> };
type PyFile = { hdus: PyHdu[] } | { error: string };

const KIND: Record<string, string> = { PrimaryHDU: 'primary', GroupsHDU: 'primary', ImageHDU: 'image', CompImageHDU: 'compressed-image', BinTableHDU: 'table', TableHDU: 'table' };
/** Keywords whose value is compared in astropy's shown header of a compressed image too (not only the raw table header). */
const CAMPAIGN_LIKE = ['CAMPAIGN', 'PROPOSID', 'OBS_ID', 'OBJECT', 'TELESCOP', 'INSTRUME', 'DATE-OBS'];

/**
 * Every difference from astropy that remains, by file (base name without the corpus tag) and
 * what differs. `refused`: we throw FitsError (the file is quarantined); `problem KW`: we give KW
 * no value (a campaign there is quarantined).
 */
const NAMED: Record<string, string> = {
  // FITS 4.0 §4.2.1.2: only a string ending in & is continued; astropy joins any CONTINUE to the card before.
  'continue-no-amp.fits: problem CAMPAIGN': 'CONTINUE after a string without &: astropy ABCDEF, the standard ABC',
  'hierarch-continue-no-amp.fits: problem HIERARCH OBS CAMPAIGN': 'the same after a HIERARCH card: astropy abcd, the standard ab',
  // astropy unescapes '' in each substring, then once more in the joined string ('a''''&' + 'b': a'b, the standard a''b).
  'continue-quotes.fits: problem CAMPAIGN': "quotes in a long string: astropy a'b, the standard a''b",
  'continue-quotes.fits: problem OBJECT': "quotes in a long string: astropy o'k', the standard o''k' x",
  // §4.4.1.1: END has no value; astropy shows END = 1 as a card with a non-value and reads on (so do we, untrusted).
  'end-with-value.fits: problem END': 'END card with text after it',
  // The last substring ends in &: astropy drops the &, CFITSIO keeps it; the standard has no such string.
  'continue-last-amp.fits: problem CAMPAIGN': 'last CONTINUE ends in &: astropy abcd, CFITSIO abcd&',
  // astropy's non-greedy string regex ends the string at the first quote followed by a blank: x'; the standard reads on.
  'quote-inject.fits: problem CAMPAIGN': "'' before a blank: astropy and the standard read different strings",
  // Not standard FITS (§4.1.2.1: keyword in columns 1-8, upper case, "= " in columns 9-10); astropy reads them anyway.
  'lowercase-keyword.fits: problem CAMPAIGN': 'lower-case keyword: astropy upper-cases it, the standard has no such keyword',
  'early-equals.fits: problem CAMP': 'value indicator before column 9: astropy reads CAMP, the standard a card without value',
  'no-indicator.fits: problem CAMPAIGN': 'no value indicator: astropy gives the text after column 8 as a string',
  // Real files: a JSOC (SDO/HMI) long string whose last CONTINUE ends in & (see continue-last-amp.fits).
  'resampled_hmi.fits: problem SOURCE': 'last CONTINUE ends in &',
  // A header whose first card is SIMPLE = F says it is not standard FITS; astropy reads it as _NonstandardHDU.
  'header_with_time.fits: refused': 'SIMPLE = F',
  'header_with_time_wcslib71.fits: refused': 'SIMPLE = F',
  // astropy's GroupsHDU rewrites an invalid random-groups header (NAXIS = 0 with GROUPS = T) to NAXIS = 1, NAXIS1 = 0 in
  // the header it shows; we give the file's cards (and its data unit is empty either way).
  'group_invalid.fits: value NAXIS': 'astropy shows its repaired NAXIS',
  'group_invalid.fits: missing NAXIS1': 'astropy shows the NAXIS1 it added',
  // astropy silently takes the first of two cards with one keyword; we take the same first value but do not use it
  // for a decision (a campaign there is quarantined). Occurs in real files for CHECKSUM, DATE, EXTNAME, ANNOTATE...
  '*: duplicate keyword with different values': 'first value compared and equal; not trusted for a campaign',
  // astropy's CompImageHDU takes the LAST of two EXTNAME cards (COMPRESSED_IMAGE, then ccd00) in the table header it
  // keeps; we take the first, and both count as untrusted duplicates: never a campaign.
  'double_ext.fits: value EXTNAME': 'astropy takes the last EXTNAME of a compressed image',
  // Record-valued keyword cards (the WCS distortion convention, DP1 = 'AXIS.1: 1'): astropy shows DP1.AXIS.1 = 1.0, we
  // the first card's string under DP1 (and a duplicate, so never a campaign).
  '*: record-valued keyword': 'astropy splits the value into field keywords',
};

function fromPy(v: PyValue): unknown {
  if ('s' in v) return v.s;
  if ('b' in v) return v.b;
  if ('i' in v) return `int:${v.i}`;
  if ('f' in v) return Number(v.f);
  if ('c' in v) return `complex:${Number(v.c[0])},${Number(v.c[1])}`;
  if ('u' in v) return null;
  return v;
}

function fromOurs(v: FitsValue): unknown {
  if (v instanceof FitsNumber) return v.integer ? `int:${v.toString()}` : v.toNumber();
  if (v instanceof FitsComplex) {
    const [re, im] = v.text.slice(1, -1).split(',').map((x) => Number(x.trim().replace(/[Dd]/, 'E')));
    return `complex:${re},${im}`;
  }
  return v;
}

describe('core/fits against astropy (reference corpus)', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'cg-astropy-'));
  const files: string[] = [];
  const tagOf = new Map<string, string>();
  let py: Record<string, PyFile>;
  const differences = new Map<string, string[]>();
  let shipped = 0;
  let values = 0;

  before(function () {
    const real = shippedFiles();
    shipped = real.length;
    real.forEach((f, i) => {
      for (const p of [f, ...variants(f, dir, `s${i}-${basename(f).replace(/\.(fits?|fts)(\.gz)?$/i, '')}`)]) {
        files.push(p);
        tagOf.set(p, basename(f));
      }
    });
    for (const [name, bytes] of Object.entries(generatedFiles())) {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      files.push(p);
      tagOf.set(p, name);
      for (const v of variants(p, dir, `g-${name.replace(/\.fits$/, '')}`)) {
        files.push(v);
        tagOf.set(v, name);
      }
    }
    const out = execFileSync(PYTHON, [new URL('./astropy-dump.py', import.meta.url).pathname], { input: JSON.stringify(files), maxBuffer: 512 * 1024 * 1024 });
    py = JSON.parse(out.toString()) as Record<string, PyFile>;

    const note = (file: string, what: string, detail: string) => {
      const key = `${tagOf.get(file)}: ${what}`;
      if (!differences.has(key)) differences.set(key, []);
      differences.get(key)!.push(`${basename(file)}: ${detail}`);
    };
    for (const file of files) {
      const ref = py[file]!;
      let ours;
      try {
        ours = readFitsFile(file);
      } catch (err) {
        if (!(err instanceof FitsError)) throw err;
        if (!('error' in ref)) note(file, 'refused', err.message);
        continue;
      }
      if ('error' in ref) {
        if (ours.kind === 'fits') note(file, 'read what astropy refuses', ref.error);
        continue;
      }
      if (ours.kind !== 'fits') {
        note(file, 'not-fits', ours.reason);
        continue;
      }
      const h = ours.headers;
      if (h.hdus.length !== ref.hdus.length && !h.stopped) note(file, 'HDU count', `${h.hdus.length} vs astropy ${ref.hdus.length}`);
      h.hdus.forEach((hdu, i) => {
        const r = ref.hdus[i];
        if (!r) return;
        if (KIND[r.cls] !== hdu.kind && !(r.cls === 'BinTableHDU' && hdu.kind === 'compressed-image')) note(file, `HDU ${i} kind`, `${hdu.kind} vs astropy ${r.cls}`);
        const refHeader = r.raw ?? r.header;
        const refKeys = new Map(Object.keys(refHeader).map((k) => [k.toUpperCase(), k]));
        for (const kw of hdu.header.keywords()) {
          const e = hdu.header.entry(kw)!;
          const refKey = refKeys.get(kw.replace(/^HIERARCH /, '').toUpperCase());
          if (refKey !== undefined) refKeys.delete(refKey.toUpperCase());
          // Record-valued keyword cards (WCS distortion paper convention): astropy shows DP1 = 'AXIS.1: 1' as DP1.AXIS.1 = 1.0.
          const rvkc = [...refKeys.keys()].filter((k) => k.startsWith(`${kw}.`));
          if (rvkc.length && typeof e.value === 'string') {
            rvkc.forEach((k) => refKeys.delete(k));
            note(file, 'record-valued keyword', kw);
            continue;
          }
          const want = refKey === undefined ? undefined : refHeader[refKey]!;
          if (e.problem && !/appears more than once/.test(e.problem)) {
            if (!(want && 'err' in want)) note(file, `problem ${kw}`, e.problem); // astropy refuses the value as well: agreed
            continue;
          }
          if (e.problem) note(file, 'duplicate keyword with different values', kw); // the first value is still compared
          if (want === undefined) {
            note(file, `missing in astropy ${kw}`, '');
            continue;
          }
          values++;
          if (JSON.stringify(fromOurs(e.value)) !== JSON.stringify(fromPy(want))) note(file, `value ${kw}`, `${JSON.stringify(fromOurs(e.value))} vs astropy ${JSON.stringify(fromPy(want))}`);
          if (r.raw && CAMPAIGN_LIKE.includes(kw) && r.header[kw] && JSON.stringify(fromPy(r.header[kw])) !== JSON.stringify(fromPy(want))) {
            note(file, `shown ${kw}`, 'astropy shows another value in the image header');
          }
        }
        for (const k of refKeys.values()) note(file, `missing ${k}`, JSON.stringify(refHeader[k]));
      });
    }
  });

  it(`reads the shipped files and their gzip/fpack/misnamed copies, and the generated headers`, () => {
    expect(shipped, 'Debian astropy ships FITS test files (apt-get install python3-astropy)').to.be.greaterThan(40);
    expect(files.length).to.be.greaterThan(200);
    const compared = Object.values(py).filter((f) => 'hdus' in f).length;
    console.log(`      corpus: ${shipped} shipped files, ${files.length} files in all, ${compared} read by astropy, ${values} keyword values compared, ${differences.size} differences`);
    expect(compared).to.be.greaterThan(200);
    expect(values).to.be.greaterThan(10_000);
  });

  it('every difference from astropy is named, with its reason, and every named one occurs', () => {
    const found = [...differences.keys()].sort();
    const named = (k: string) => k in NAMED || `*: ${k.slice(k.indexOf(': ') + 2)}` in NAMED;
    const unnamed = found.filter((k) => !named(k)).map((k) => `${k}\n    ${differences.get(k)!.slice(0, 3).join('\n    ')}`);
    expect(unnamed, `differences from astropy not named in NAMED:\n${unnamed.join('\n')}`).to.deep.equal([]);
    const occurs = (k: string) => differences.has(k) || (k.startsWith('*: ') && found.some((f) => f.endsWith(`: ${k.slice(3)}`)));
    expect(Object.keys(NAMED).filter((k) => !occurs(k)), 'named differences that no longer occur').to.deep.equal([]);
  });
});
