/**
 * Builds small, valid FITS files for tests and benchmarks: header cards written by hand, padded
 * to 2880-byte blocks, optional data, .fz (tile-compressed layout: empty primary + BINTABLE with
 * ZIMAGE = T) and .gz. The layout follows the FITS Standard 4.0, not any library.
 */
import { gzipSync } from 'node:zlib';
import type { Source } from '../../core/fits/source.js';

export type Card = [keyword: string, value?: string | number | boolean, comment?: string] | string;

const BLOCK = 2880;

/** One 80-character card. Strings are quoted with '' escaping; raw strings pass through as the whole card. */
export function card(c: Card): string {
  if (typeof c === 'string') return c.padEnd(80).slice(0, 80);
  const [keyword, value, comment] = c;
  if (!/^[A-Z0-9_-]{1,8}$/.test(keyword)) throw new Error(`FITS keywords have 1-8 characters of A-Z 0-9 _ -: ${keyword}`);
  if (value === undefined) return keyword.padEnd(80).slice(0, 80);
  let v: string;
  if (typeof value === 'string') v = `'${value.replace(/'/g, "''").padEnd(8)}'`.padEnd(20);
  else if (typeof value === 'boolean') v = (value ? 'T' : 'F').padStart(20);
  else v = String(value).padStart(20);
  const text = `${keyword.padEnd(8)}= ${v}${comment ? ` / ${comment}` : ''}`;
  if (text.length > 80) throw new Error(`card too long: ${text}`);
  return text.padEnd(80);
}

export function header(cards: Card[], first: Card[] = [['SIMPLE', true], ['BITPIX', 8], ['NAXIS', 0]]): Buffer {
  const text = [...first, ...cards].map(card).join('') + 'END'.padEnd(80);
  const padded = text.padEnd(Math.ceil(text.length / BLOCK) * BLOCK, ' ');
  return Buffer.from(padded, 'ascii');
}

/** A primary HDU with an image of `dataBytes` bytes (BITPIX 8, NAXIS1 = dataBytes). */
export function fitsFile(cards: Card[], dataBytes = 0): Buffer {
  const first: Card[] = dataBytes ? [['SIMPLE', true], ['BITPIX', 8], ['NAXIS', 1], ['NAXIS1', dataBytes]] : [['SIMPLE', true], ['BITPIX', 8], ['NAXIS', 0]];
  const h = header(cards, first);
  if (!dataBytes) return h;
  return Buffer.concat([h, Buffer.alloc(Math.ceil(dataBytes / BLOCK) * BLOCK)]);
}

/** Tile-compressed layout: an empty primary HDU, then a BINTABLE with ZIMAGE = T carrying the image keywords. */
export function fzFile(cards: Card[]): Buffer {
  const primary = header([], [['SIMPLE', true], ['BITPIX', 8], ['NAXIS', 0], ['EXTEND', true]]);
  const ext = header([['ZIMAGE', true], ['ZBITPIX', 16], ['ZNAXIS', 2], ...cards], [['XTENSION', 'BINTABLE'], ['BITPIX', 8], ['NAXIS', 2], ['NAXIS1', 8], ['NAXIS2', 1], ['PCOUNT', 0], ['GCOUNT', 1], ['TFIELDS', 1]]);
  return Buffer.concat([primary, ext, Buffer.alloc(BLOCK)]);
}

export function gzFile(cards: Card[], dataBytes = 0): Buffer {
  return gzipSync(fitsFile(cards, dataBytes));
}

/** A whole file in memory as a header reader's Source (walkHdus without a descriptor). */
export class MemSource implements Source {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  read(n: number): Buffer {
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += b.length;
    return b;
  }
  skip(n: number): void {
    this.pos += n;
  }
  close(): void {}
}
