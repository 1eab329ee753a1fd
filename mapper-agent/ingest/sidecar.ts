/**
 * Which campaign product a non-FITS file with a "public" name (a preview PNG, a JSON or XML
 * metadata file) belongs to. A name alone makes nothing public: such a file is opened to the
 * world only when it can be attributed, and here that means it is a sidecar of a FITS file in the
 * same directory whose header names the campaign. A sidecar's base name (before its first '.')
 * is the FITS file's base name, optionally followed by `_`, `-` or `.` and more:
 *   obs1.png, obs1_ql.png, obs1-thumb.jpg, obs1.meta.json  ->  obs1.fits (or .fits.gz, .fts, .fz, ...)
 * Nothing is listed: the candidate names are opened directly through the directory's descriptor.
 */
import { openChild, close, Refused, type DirHandle, type OpenedFile } from './safe-file.js';

const FITS_SUFFIXES = ['.fits', '.fit', '.fts', '.fits.gz', '.fit.gz', '.fts.gz', '.fits.fz', '.fz'];

/** Base names a sidecar may belong to, longest first: obs1_ql_x.png -> obs1_ql_x, obs1_ql, obs1. */
export function productStems(name: string): string[] {
  const base = name.split('.')[0]!;
  const stems: string[] = [];
  for (let end = base.length; end > 0; end = Math.max(base.lastIndexOf('_', end - 1), base.lastIndexOf('-', end - 1))) {
    stems.push(base.slice(0, end));
  }
  return stems;
}

/** The FITS file this sidecar belongs to, with what `inspect` says of it; undefined when none can be found or attributed. */
export function findProduct<T>(dir: DirHandle, name: string, inspect: (opened: OpenedFile) => T | undefined): { name: string; found: T } | undefined {
  for (const stem of productStems(name)) {
    for (const suffix of FITS_SUFFIXES) {
      const candidate = stem + suffix;
      if (candidate === name) continue;
      let opened: OpenedFile;
      try {
        opened = openChild(dir, candidate);
      } catch (err) {
        if (err instanceof Refused) continue; // absent, a link, not a regular file: not a product
        throw err;
      }
      try {
        const found = inspect(opened);
        if (found !== undefined) return { name: candidate, found };
      } finally {
        close(opened.fd);
      }
    }
  }
  return undefined;
}
