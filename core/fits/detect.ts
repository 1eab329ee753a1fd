/**
 * What the agent calls to read a file's FITS headers: the container (plain FITS, gzip, fpack) is
 * recognised from the bytes, the name is only a hint. The one contract callers rely on:
 *  - `{ kind: 'not-fits' }` when neither the content nor the name says FITS (a PNG, a text file);
 *  - `{ kind: 'fits', headers }` when the headers were read;
 *  - a FitsError, and nothing else, for everything in between (named FITS but not FITS, truncated,
 *    corrupt, hostile, over a bound): the caller quarantines that file and goes on.
 */
import { BLOCK, FitsError, readHeadersFromFd, type FitsHeaders } from './header.js';

export type HeaderRead = { kind: 'fits'; headers: FitsHeaders } | { kind: 'not-fits'; reason: string };

const FITS_NAME = /\.(fits?|fts)(\.(gz|fz))?$|\.fz$/i;

export function looksLikeFitsName(name: string): boolean {
  return FITS_NAME.test(name);
}

/** Read the headers of an open file from its content; `firstBytes` holds the file's first bytes (up to one block). */
export function readFitsFromFd(fd: number, firstBytes: Uint8Array, nameHint: string): HeaderRead {
  const gzip = firstBytes.length >= 2 && firstBytes[0] === 0x1f && firstBytes[1] === 0x8b;
  const simple = firstBytes.length >= 10 && Buffer.from(firstBytes.buffer, firstBytes.byteOffset, 10).toString('latin1') === 'SIMPLE  = ';
  if (!gzip && !simple) {
    if (looksLikeFitsName(nameHint)) throw new FitsError('named like a FITS file, but the content is neither FITS nor gzip');
    return { kind: 'not-fits', reason: 'not a FITS file (by content and name)' };
  }
  try {
    const container = gzip ? 'gz' : /\.fz$/i.test(nameHint) ? 'fz' : 'plain';
    return { kind: 'fits', headers: readHeadersFromFd(fd, container, firstBytes.length >= BLOCK ? firstBytes : undefined) };
  } catch (err) {
    if (err instanceof FitsError) throw err;
    // Any other failure (I/O, zlib, arithmetic on hostile values) is this file's problem, typed as such.
    throw new FitsError(`unreadable FITS content: ${(err as Error).message}`, { cause: err });
  }
}
