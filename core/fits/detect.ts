/**
 * What the agent calls to read a file's FITS headers: the container (plain FITS, gzip, fpack's
 * tile-compressed HDUs, or both as in .fz.gz) is recognised from the bytes, the name is only a
 * hint. The one contract callers rely on:
 *  - `{ kind: 'not-fits' }` when neither the content nor the name says FITS (a PNG, a text file,
 *    a gzip'd tar);
 *  - `{ kind: 'fits', headers }` when the headers were read;
 *  - a FitsError, and nothing else, for everything in between (named FITS but not FITS, truncated,
 *    corrupt, hostile, over a bound): the caller quarantines that file and goes on.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { BLOCK, FitsError } from './header.js';
import { walkHdus, type FitsHeaders } from './hdus.js';
import { DEFAULT_GZIP_BOUNDS, FdSource, GzipSource, type GzipBounds, type Source } from './source.js';

export type { FitsHeaders };

export type HeaderRead = { kind: 'fits'; headers: FitsHeaders; container: 'plain' | 'gzip' } | { kind: 'not-fits'; reason: string };

export interface ReadOptions {
  gzip?: GzipBounds;
  maxHdus?: number;
  /** the file's size (fstat of the same descriptor): saves the read that finds no further HDU */
  size?: number;
}

const FITS_NAME = /\.(fits?|fts)(\.(gz|fz))?$|\.fz$|\.fz\.gz$/i;
const SIMPLE = Buffer.from('SIMPLE  = ', 'latin1');

export function looksLikeFitsName(name: string): boolean {
  return FITS_NAME.test(name);
}

/** Read the headers of an open file from its content; `firstBytes` holds the file's first bytes (up to one block). */
export function readFitsFromFd(fd: number, firstBytes: Uint8Array, nameHint: string, options: ReadOptions = {}): HeaderRead {
  const gzip = firstBytes.length >= 2 && firstBytes[0] === 0x1f && firstBytes[1] === 0x8b;
  const notFits = (what: string): HeaderRead => {
    if (looksLikeFitsName(nameHint)) throw new FitsError(`named like a FITS file, but ${what}`);
    return { kind: 'not-fits', reason: `not a FITS file (${what})` };
  };
  if (!gzip && !startsWithSimple(firstBytes)) return notFits('the content is neither FITS nor gzip');
  let source: Source | undefined;
  try {
    source = gzip ? new GzipSource(fd, options.gzip ?? DEFAULT_GZIP_BOUNDS) : new FdSource(fd, firstBytes, options.size);
    if (gzip) {
      let start: Buffer;
      try {
        start = (source as GzipSource).peek(SIMPLE.length);
      } catch (err) {
        if (err instanceof FitsError) return notFits(`gzip content unreadable: ${err.message}`);
        throw err;
      }
      if (!startsWithSimple(start)) return notFits('the gzip content is not FITS');
    }
    return { kind: 'fits', headers: walkHdus(source, options.maxHdus), container: gzip ? 'gzip' : 'plain' };
  } catch (err) {
    if (err instanceof FitsError) throw err;
    // Any other failure (I/O, zlib, arithmetic on hostile values) is this file's problem, typed as such.
    throw new FitsError(`unreadable FITS content: ${(err as Error).message}`, { cause: err });
  } finally {
    source?.close();
  }
}

function startsWithSimple(b: Uint8Array): boolean {
  return b.length >= SIMPLE.length && SIMPLE.equals(b.subarray(0, SIMPLE.length));
}

/** Convenience for tools and tests: open (without following symlinks), read, close. */
export function readFitsFile(path: string, options: ReadOptions = {}): HeaderRead {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const first = Buffer.alloc(BLOCK);
    const n = readSync(fd, first, 0, BLOCK, 0);
    return readFitsFromFd(fd, first.subarray(0, n), path, options);
  } finally {
    closeSync(fd);
  }
}
