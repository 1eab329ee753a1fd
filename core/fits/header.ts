/**
 * FITS header reading (FITS Standard 4.0, section 4): 2880-byte blocks of 80-character ASCII
 * cards, `KEYWORD = value / comment`, ending at the END card. Only headers are read, never data:
 * the primary HDU's, and for tile-compressed `.fz` files also the first extension's (where fpack
 * keeps the image's keywords). `.gz` files are decompressed only as far as the header needs.
 *
 * Decisions that matter for security:
 * - a keyword that appears twice keeps its FIRST value (a later card cannot override it);
 * - HIERARCH keywords keep their "HIERARCH " prefix, so `HIERARCH CAMPAIGN = ...` can never
 *   shadow the standard keyword CAMPAIGN;
 * - any byte outside printable ASCII in a header is an error, not something to guess about.
 */
import { closeSync, openSync, readSync, constants } from 'node:fs';
import { gunzipSync, constants as zlib } from 'node:zlib';
import { ValidationError } from '../errors.js';

export const BLOCK = 2880;
const CARD = 80;
/** Headers longer than this are refused (a real one is a few blocks; this bounds hostile input). */
export const MAX_HEADER_BLOCKS = 200;

/** Not a FITS header we can read; a ValidationError: refuse the file, change nothing. */
export class FitsError extends ValidationError {}

export type FitsValue = string | number | boolean | null;

export class FitsHeader {
  private readonly values = new Map<string, FitsValue>();
  /** number of bytes the header occupies (a multiple of 2880) */
  size = 0;

  set(keyword: string, value: FitsValue): void {
    if (!this.values.has(keyword)) this.values.set(keyword, value);
  }
  get(keyword: string): FitsValue | undefined {
    return this.values.get(keyword);
  }
  has(keyword: string): boolean {
    return this.values.has(keyword);
  }
  keywords(): string[] {
    return [...this.values.keys()];
  }
}

/** Parse the header starting at `offset` in `buf`; throws FitsError when it is not complete there. */
export function parseHeader(buf: Uint8Array, offset = 0, first: 'SIMPLE' | 'XTENSION' = 'SIMPLE'): FitsHeader {
  const header = new FitsHeader();
  let pendingString: { keyword: string; text: string } | undefined;
  for (let pos = offset; ; pos += CARD) {
    if (pos + CARD > buf.length) {
      throw new FitsError(pos === offset ? 'file is empty or shorter than one FITS block' : 'header is truncated: no END card before the end of the data');
    }
    if ((pos - offset) / BLOCK >= MAX_HEADER_BLOCKS) throw new FitsError(`no END card in the first ${MAX_HEADER_BLOCKS} header blocks`);
    if (pos === offset) {
      const prefix = Buffer.from(buf.subarray(pos, pos + 10)).toString('latin1');
      if (first === 'SIMPLE' && prefix !== 'SIMPLE  = ') throw new FitsError('not a FITS file: the first card is not SIMPLE = T');
    }
    const card = cardText(buf, pos);
    if (pos === offset) checkFirstCard(card, first);
    const keyword = card.slice(0, 8).trimEnd();

    if (keyword === 'CONTINUE' && pendingString) {
      const cont = parseString(card, 10);
      if (cont !== undefined) {
        pendingString.text = pendingString.text.slice(0, -1) + cont.value;
        if (pendingString.text.endsWith('&')) continue;
        header.set(pendingString.keyword, pendingString.text);
        pendingString = undefined;
        continue;
      }
    }
    if (pendingString) {
      header.set(pendingString.keyword, pendingString.text); // a trailing & with no CONTINUE is literal
      pendingString = undefined;
    }
    if (keyword === 'END' && card.slice(3).trim() === '') {
      const end = pos + CARD;
      header.size = Math.ceil((end - offset) / BLOCK) * BLOCK;
      return header;
    }
    if (keyword === 'HIERARCH') {
      const eq = card.indexOf('=');
      if (eq < 0) continue;
      const name = `HIERARCH ${card.slice(9, eq).trim().split(/\s+/).join(' ')}`;
      header.set(name, parseValue(card, eq + 1, name));
      continue;
    }
    if (keyword === '' || keyword === 'COMMENT' || keyword === 'HISTORY' || card.slice(8, 10) !== '= ') continue;
    checkKeyword(keyword);
    const value = parseValue(card, 10, keyword);
    if (typeof value === 'string' && value.endsWith('&') && card.slice(10).trimStart().startsWith("'")) {
      pendingString = { keyword, text: value };
      continue;
    }
    header.set(keyword, value);
  }
}

function cardText(buf: Uint8Array, pos: number): string {
  for (let i = pos; i < pos + CARD; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e) throw new FitsError(`byte 0x${c.toString(16).padStart(2, '0')} at offset ${i} is not printable ASCII: not a FITS header`);
  }
  return Buffer.from(buf.buffer, buf.byteOffset + pos, CARD).toString('latin1');
}

function checkFirstCard(card: string, first: 'SIMPLE' | 'XTENSION'): void {
  if (first === 'SIMPLE' && !/^SIMPLE  = {20}T/.test(card)) throw new FitsError('not a FITS file: the first card is not SIMPLE = T');
  if (first === 'XTENSION' && !card.startsWith('XTENSION= ')) throw new FitsError('extension header does not start with XTENSION');
}

const KEYWORD = /^[A-Z0-9_-]{1,8}$/;
function checkKeyword(keyword: string): void {
  if (!KEYWORD.test(keyword)) throw new FitsError(`invalid keyword ${JSON.stringify(keyword)}`);
}

function parseValue(card: string, from: number, keyword: string): FitsValue {
  const rest = card.slice(from);
  const start = rest.length - rest.trimStart().length;
  if (rest[start] === "'") {
    const s = parseString(card, from + start);
    if (!s) throw new FitsError(`${keyword}: string value without a closing quote`);
    return s.value;
  }
  const raw = rest.split('/')[0]!.trim();
  if (raw === '') return null;
  if (raw === 'T') return true;
  if (raw === 'F') return false;
  if (/^[+-]?\d+$/.test(raw)) return Number(raw);
  if (/^[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?$/.test(raw)) return Number(raw.replace(/[Dd]/, 'E'));
  return raw; // complex numbers and other rarities: kept as text
}

/** A quoted string starting at `from` (which must be the opening quote, after optional blanks). */
function parseString(card: string, from: number): { value: string } | undefined {
  let i = card.indexOf("'", from);
  if (i < 0 || card.slice(from, i).trim() !== '') return undefined;
  let out = '';
  for (i++; i < card.length; i++) {
    if (card[i] === "'") {
      if (card[i + 1] === "'") {
        out += "'";
        i++;
        continue;
      }
      return { value: out.trimEnd() };
    }
    out += card[i];
  }
  return undefined;
}

/** Bytes of the data unit following a header (padded to whole blocks). */
export function dataSize(h: FitsHeader): number {
  const naxis = Number(h.get('NAXIS') ?? 0);
  if (!naxis) return 0;
  let n = 1;
  for (let i = 1; i <= naxis; i++) n *= Number(h.get(`NAXIS${i}`) ?? 0);
  const bits = Math.abs(Number(h.get('BITPIX') ?? 8));
  const bytes = (bits / 8) * Number(h.get('GCOUNT') ?? 1) * (Number(h.get('PCOUNT') ?? 0) + n);
  return Math.ceil(bytes / BLOCK) * BLOCK;
}

export interface FitsHeaders {
  primary: FitsHeader;
  /** the tile-compressed image's header (first extension with ZIMAGE = T), for .fz files */
  compressed?: FitsHeader;
}

/** Look a keyword up the way a reader of the image expects: the compressed image's header first. */
export function lookup(h: FitsHeaders, keyword: string): FitsValue | undefined {
  return h.compressed?.get(keyword) ?? h.primary.get(keyword);
}

/**
 * Read the headers of an open file descriptor. `firstBlock` may hold bytes already read from
 * position 0 (the ingest fast path reads one block and passes it in).
 */
export function readHeadersFromFd(fd: number, kind: 'plain' | 'fz' | 'gz', firstBlock?: Uint8Array): FitsHeaders {
  if (kind === 'gz') return readGzHeaders(fd);
  let buf = firstBlock && firstBlock.length >= BLOCK ? firstBlock : readAt(fd, 0, BLOCK);
  for (;;) {
    try {
      const primary = parseHeader(buf);
      if (kind === 'plain') return { primary };
      const extStart = primary.size + dataSize(primary);
      const ext = readExtension(fd, buf, extStart);
      return ext?.get('ZIMAGE') === true ? { primary, compressed: ext } : { primary };
    } catch (err) {
      if (!(err instanceof FitsError) || !/truncated/.test(err.message) || buf.length % BLOCK !== 0 || buf.length >= MAX_HEADER_BLOCKS * BLOCK) throw err;
      const more = readAt(fd, buf.length, buf.length); // doubling: few reads even for long headers
      if (more.length === 0) throw err;
      buf = Buffer.concat([buf, more]);
    }
  }
}

function readExtension(fd: number, buf: Uint8Array, start: number): FitsHeader | undefined {
  let ext = buf.length >= start + BLOCK ? buf.subarray(start) : readAt(fd, start, BLOCK);
  if (ext.length === 0) return undefined; // no extension
  for (;;) {
    try {
      return parseHeader(ext, 0, 'XTENSION');
    } catch (err) {
      if (!(err instanceof FitsError) || !/truncated/.test(err.message) || ext.length >= MAX_HEADER_BLOCKS * BLOCK) throw err;
      const more = readAt(fd, start + ext.length, ext.length);
      if (more.length === 0) throw err;
      ext = Buffer.concat([ext, more]);
    }
  }
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** Decompress only a prefix of the .gz file (Z_SYNC_FLUSH accepts an incomplete stream), growing it until END appears. */
function readGzHeaders(fd: number): FitsHeaders {
  for (let compressed = 16 * 1024; ; compressed *= 4) {
    const input = readAt(fd, 0, compressed);
    let plain: Buffer;
    try {
      plain = gunzipSync(input, { finishFlush: zlib.Z_SYNC_FLUSH, maxOutputLength: MAX_HEADER_BLOCKS * BLOCK * 2 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        plain = gunzipSync(input.subarray(0, Math.floor(input.length / 2)), { finishFlush: zlib.Z_SYNC_FLUSH });
      } else {
        throw new FitsError(`not a readable gzip file: ${(err as Error).message}`);
      }
    }
    try {
      return { primary: parseHeader(plain) };
    } catch (err) {
      if (!(err instanceof FitsError) || !/truncated|shorter/.test(err.message) || input.length < compressed) throw err;
    }
  }
}

export function kindOf(path: string): 'plain' | 'fz' | 'gz' {
  if (path.endsWith('.fz')) return 'fz';
  if (path.endsWith('.gz')) return 'gz';
  return 'plain';
}

/** Convenience for tools and tests: open (without following symlinks), read, close. */
export function readFitsHeaders(path: string): FitsHeaders {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    return readHeadersFromFd(fd, kindOf(path));
  } finally {
    closeSync(fd);
  }
}
