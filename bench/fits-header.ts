/**
 * npx tsx bench/fits-header.ts: microseconds per FITS header read (walkHdus over an in-memory
 * source, as the ingest path does with the file's size known, plus the lookups the classifier
 * makes; CPU time, best of 7 rounds), for the current reader and the pre-rewrite reference (test/core/fits/reference-header.ts),
 * in the same process. Not part of `npm run bench` (no reference target): a tool for issue 12.
 */
import { walkHdus } from '../core/fits/hdus.js';
import { refWalkHdus } from '../test/core/fits/reference-header.js';
import { fitsFile, fzFile, MemSource, type Card } from '../test/support/fits.js';

const realistic: Card[] = [
  ['EXTEND', true], ['ORIGIN', 'NOAO-IRAF FITS Image Kernel'], ['DATE', '2026-01-01T03:04:05'], ['IRAF-TLM', '2026-01-01T03:04:05'],
  ['OBJECT', 'NGC 1234 field 7'], ['CAMPAIGN', 'c1'], ['PROPOSID', 2026017], ['OBSTYPE', 'object'], ['DATE-OBS', '2026-01-01T00:00:00.123'],
  ['TIME-OBS', '00:00:00.123'], ['MJD-OBS', 61041.000001], ['EXPTIME', 300.0], ['DARKTIME', 301.5], ['AIRMASS', 1.234],
  ['RA', '12:34:56.78'], ['DEC', '-12:34:56.7'], ['EQUINOX', 2000.0], ['RADECSYS', 'ICRS'], ['FILTER', 'r SDSS c6018'],
  ['GAIN', 1.5], ['RDNOISE', 6.2], ['CCDTEMP', -110.25], ['OBSERVER', "O'Brien, J."], ['TELESCOP', 'KPNO 4.0 meter telescope'],
  ['INSTRUME', 'Mosaic3'], ['DETSIZE', '[1:4096,1:4096]'], ['BSCALE', 1], ['BZERO', 32768], "COMMENT   processed by the pipeline",
  "HISTORY   flat-fielded", ['SATURATE', 65000], ['ZD', 34.2],
];
const cases: Record<string, Buffer> = {
  'one-block (fitsFile CAMPAIGN, DATE-OBS; 17000 bytes data)': fitsFile([['CAMPAIGN', 'c1'], ['DATE-OBS', '2026-01-01T00:00:00']], 17000),
  'realistic (32 keywords, one block)': fitsFile(realistic, 17000),
  '.fz layout (primary + compressed image)': fzFile(realistic.slice(0, 12)),
  'three blocks (100 keywords)': fitsFile([...realistic, ...Array.from({ length: 68 }, (_, i): Card => [`KEY${i}`, i % 2 ? i * 1.5 : `value ${i}`])], 17000),
};
const lookups = ['CAMPAIGN', 'PROPOSID', 'OBSTYPE', 'DATE-OBS'];

function run(walk: typeof walkHdus, buf: Buffer, n: number): number {
  let sink = 0;
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const h = walk(new MemSource(buf));
    for (const hdu of h.hdus) for (const k of lookups) if (hdu.header.entry(k)) sink++;
  }
  const used = process.cpuUsage(start);
  if (sink < 0) console.log(sink);
  return (used.user + used.system) / n;
}

const n = Number(process.env.N ?? 100_000);
for (const [name, buf] of Object.entries(cases)) {
  const times: Record<string, number[]> = { reference: [], current: [] };
  for (let round = 0; round < 7; round++) {
    times.reference!.push(run(refWalkHdus as unknown as typeof walkHdus, buf, n));
    times.current!.push(run(walkHdus, buf, n));
  }
  // CPU time (not wall time: the machine is shared), the best of 7 rounds each.
  const best = (a: number[]) => Math.min(...a);
  const ref = best(times.reference!);
  const cur = best(times.current!);
  console.log(`${name.padEnd(58)} reference ${ref.toFixed(2)} us  current ${cur.toFixed(2)} us  speed-up ${(ref / cur).toFixed(2)}x`);
}
