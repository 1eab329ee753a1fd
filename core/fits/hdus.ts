/**
 * Walks the HDUs of a FITS file front to back: each header, then its data unit skipped (its size
 * from the header, FITS Standard 4.0 §4.4.1, §6 random groups, §7 extensions), up to a bound on
 * the number of HDUs. What follows the last HDU that does not start with XTENSION is ignored, as
 * astropy does (with a warning) and the standard allows (§3.5 special records).
 */
import { BLOCK, FitsError, HeaderParser, type FitsHeader } from './header.js';
import { BoundError, type Source } from './source.js';
import { FitsNumber, smallInteger } from './value.js';

/** Which kind of HDU this is, as astropy shows it: an image, a tile-compressed image (BINTABLE with ZIMAGE = T), a table. */
export type HduKind = 'primary' | 'image' | 'compressed-image' | 'table' | 'other';

export interface Hdu {
  /** 0 for the primary HDU, 1 for the first extension... (astropy's index in `fits.open()`) */
  index: number;
  kind: HduKind;
  header: FitsHeader;
}

export interface FitsHeaders {
  primary: FitsHeader;
  /** every HDU read, primary first */
  hdus: Hdu[];
  /** the first tile-compressed image's header, if any */
  compressed?: FitsHeader;
  /** set when the walk stopped before the end of the file (a bound, or unreadable bytes after an HDU) */
  stopped?: string;
}

export const MAX_HDUS = 64;

export function walkHdus(source: Source, maxHdus = MAX_HDUS): FitsHeaders {
  const primary = readHeader(source, 'SIMPLE');
  const hdus: Hdu[] = [{ index: 0, kind: 'primary', header: primary }];
  const result = (stopped?: string): FitsHeaders => {
    const compressed = hdus.find((h) => h.kind === 'compressed-image')?.header;
    return { primary, hdus, ...(compressed ? { compressed } : {}), ...(stopped ? { stopped } : {}) };
  };
  let header = primary;
  for (;;) {
    const size = dataSize(header, hdus.length === 1);
    let first: Buffer;
    try {
      source.skip(size);
      first = source.read(BLOCK);
    } catch (err) {
      if (err instanceof FitsError) return result(`after HDU ${hdus.length - 1}: ${err.message}`);
      throw err;
    }
    if (first.length === 0) return result();
    if (first.length < BLOCK || first.subarray(0, 10).toString('latin1') !== 'XTENSION= ') {
      return result(`after HDU ${hdus.length - 1}: ${first.length} bytes that are not an extension (ignored, as astropy does)`);
    }
    if (hdus.length >= maxHdus) return result(`more than ${maxHdus} HDUs: the rest not read`);
    header = readHeader(source, 'XTENSION', first);
    hdus.push({ index: hdus.length, kind: kindOf(header), header });
  }
}

function readHeader(source: Source, first: 'SIMPLE' | 'XTENSION', block?: Buffer): FitsHeader {
  const parser = new HeaderParser(first);
  try {
    for (let b = block ?? source.read(BLOCK); !parser.push(b); b = source.read(BLOCK));
  } catch (err) {
    if (err instanceof BoundError) throw new FitsError(`while reading a header: ${err.message}`, { cause: err });
    throw err;
  }
  return parser.header;
}

function kindOf(h: FitsHeader): HduKind {
  const x = h.get('XTENSION');
  const type = typeof x === 'string' ? x.trimEnd() : '';
  if (type === 'IMAGE') return 'image';
  if (type === 'BINTABLE' && h.get('ZIMAGE') === true) return 'compressed-image';
  if (type === 'BINTABLE' || type === 'TABLE') return 'table';
  return 'other';
}

/** Files are far below this; anything larger is a hostile or corrupt header (and keeps offsets exact doubles). */
const MAX_DATA = 2n ** 50n;
const BITPIX = new Set([8n, 16n, 32n, 64n, -32n, -64n]);

/** Bytes of the data unit after `h`, padded to whole blocks; FitsError for structural keywords that make no sense. */
export function dataSize(h: FitsHeader, primary: boolean): number {
  return commonDataSize(h, primary) ?? exactDataSize(h, primary);
}

const MAX_DATA_NUMBER = Number(MAX_DATA);
/** NAXIS1..NAXIS999, made once (a keyword built per lookup is a new string to hash each time). */
const NAXIS_N = Array.from({ length: 1000 }, (_, i) => `NAXIS${i}`);

/** A structural keyword's value when it is an integer of at most 15 digits without a problem (exact as a double). */
function small(h: FitsHeader, kw: string): number | undefined {
  const e = h.entry(kw);
  if (!e || e.problem || !(e.value instanceof FitsNumber) || !e.value.integer || e.value.text.length > 15) return undefined;
  return Number(e.value.text) + 0; // + 0: '-0' is 0, not -0 (a size must not come out as -0)
}

/**
 * dataSize in doubles for the common header (no random groups, every value small and in range):
 * every product stays at or below 2^50 (< 2^53, exact), and any case it does not take, or that
 * is an error, is left to exactDataSize (undefined), so results and messages are the same.
 */
function commonDataSize(h: FitsHeader, primary: boolean): number | undefined {
  const bitpix = small(h, 'BITPIX');
  if (bitpix !== 8 && bitpix !== 16 && bitpix !== 32 && bitpix !== 64 && bitpix !== -32 && bitpix !== -64) return undefined;
  const naxis = small(h, 'NAXIS');
  if (naxis === undefined || naxis < 0 || naxis > 999) return undefined;
  if (naxis === 0) return 0;
  if (primary && h.get('GROUPS') === true) return undefined;
  let n = 1;
  for (let i = 1; i <= naxis; i++) {
    const axis = small(h, NAXIS_N[i]!);
    if (axis === undefined || axis < 0 || axis > MAX_DATA_NUMBER) return undefined;
    n *= axis;
    if (n > MAX_DATA_NUMBER) return undefined;
  }
  let pcount = 0;
  let gcount = 1;
  if (!primary) {
    const p = h.has('PCOUNT') ? small(h, 'PCOUNT') : 0;
    const g = h.has('GCOUNT') ? small(h, 'GCOUNT') : 1;
    if (p === undefined || p < 0 || p > MAX_DATA_NUMBER || g === undefined || g < 0 || g > MAX_DATA_NUMBER) return undefined;
    pcount = p;
    gcount = g;
  }
  const bytes = (Math.abs(bitpix) / 8) * gcount * (pcount + n);
  if (bytes > MAX_DATA_NUMBER) return undefined;
  return Math.ceil(bytes / BLOCK) * BLOCK;
}

/** dataSize in BigInt, for every case (the reference commonDataSize must agree with). */
function exactDataSize(h: FitsHeader, primary: boolean): number {
  const need = (kw: string, max: bigint): bigint => {
    const e = h.entry(kw);
    const n = e && !e.problem ? smallInteger(e.value, max) : undefined;
    if (n === undefined || n < 0n) throw new FitsError(`${kw} is missing or not an integer in 0..${max}: ${describe(e?.value)}`);
    return n;
  };
  const optional = (kw: string, dflt: bigint): bigint => (h.has(kw) ? need(kw, MAX_DATA) : dflt);
  const bitpix = smallInteger(h.get('BITPIX'), 64n);
  if (bitpix === undefined || !BITPIX.has(bitpix) || h.entry('BITPIX')?.problem) throw new FitsError(`BITPIX is not one of 8, 16, 32, 64, -32, -64: ${describe(h.get('BITPIX'))}`);
  const naxis = need('NAXIS', 999n);
  if (naxis === 0n) return 0;
  // Random groups (§6): GROUPS = T and NAXIS1 = 0 in the primary; NAXIS1 is not an axis then.
  const groups = primary && h.get('GROUPS') === true && smallInteger(h.get('NAXIS1'), 0n) === 0n;
  let n = 1n;
  for (let i = groups ? 2 : 1; i <= Number(naxis); i++) {
    n *= need(`NAXIS${i}`, MAX_DATA);
    if (n > MAX_DATA) throw new FitsError(`data unit larger than 2^50 bytes (NAXIS${i})`);
  }
  const [pcount, gcount] = primary && !groups ? [0n, 1n] : [optional('PCOUNT', 0n), optional('GCOUNT', 1n)];
  const bytes = ((bitpix < 0n ? -bitpix : bitpix) / 8n) * gcount * (pcount + n);
  if (bytes > MAX_DATA) throw new FitsError('data unit larger than 2^50 bytes (PCOUNT/GCOUNT)');
  const blocks = (bytes + BigInt(BLOCK) - 1n) / BigInt(BLOCK);
  return Number(blocks) * BLOCK;
}

function describe(v: unknown): string {
  return v === undefined ? 'absent' : JSON.stringify(String(v));
}
