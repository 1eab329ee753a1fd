/**
 * The bytes of a FITS file, read front to back through the one verified descriptor: either as
 * stored (skipping a data unit is a seek) or gunzipped as a stream (skipping is inflating and
 * discarding, within a bound on inflated bytes, on compressed bytes read before the first FITS
 * block, and on time).
 */
import { readSync } from 'node:fs';
import { FitsError } from './header.js';
import { Inflater } from './inflate.js';

export interface Source {
  /** Up to `n` bytes from the current position (fewer only at the end of the data). */
  read(n: number): Buffer;
  /** Move on `n` bytes (a data unit). Throws BoundError when a bound forbids it. */
  skip(n: number): void;
  close(): void;
}

/** A bound of the reader was reached (the data might be valid; we stop reading, fail closed). */
export class BoundError extends FitsError {}

export class FdSource implements Source {
  private position = 0;
  /**
   * `first`: the bytes at offset 0 the caller already read; `size`: the file's size from the
   * caller's fstat. Both save a read per file on the ingest path (the one that finds no next HDU).
   */
  constructor(
    private readonly fd: number,
    private readonly first: Uint8Array = new Uint8Array(0),
    private readonly size?: number,
  ) {}

  read(n: number): Buffer {
    if (this.size !== undefined && this.position >= this.size) return Buffer.alloc(0);
    const buf = this.position === 0 && n <= this.first.length ? Buffer.from(this.first.buffer, this.first.byteOffset, n) : readFully(this.fd, this.position, n);
    this.position += buf.length;
    return buf;
  }
  skip(n: number): void {
    if (!Number.isSafeInteger(this.position + n)) throw new BoundError('data unit beyond any file size');
    this.position += n;
  }
  close(): void {}
}

export interface GzipBounds {
  /** inflated bytes read or skipped, in all (default 256 MiB) */
  maxInflated: number;
  /** compressed bytes consumed before the first FITS block comes out: gzip header fields (FEXTRA, FNAME, FCOMMENT) (default 1 MiB) */
  maxPreamble: number;
  /** wall-clock milliseconds for the whole file (default 10 s) */
  maxMillis: number;
}

export const DEFAULT_GZIP_BOUNDS: GzipBounds = { maxInflated: 256 * 1024 * 1024, maxPreamble: 1024 * 1024, maxMillis: 10_000 };

const READ = 64 * 1024;
/** Compressed bytes fed to zlib at once: at most ~4 MiB of output each (zlib's ratio is at most ~1032:1). */
const FEED = 4096;

export class GzipSource implements Source {
  private readonly zlib = new Inflater();
  private compressed: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  private compressedOff = 0;
  private filePos = 0;
  private eof = false;
  private ended = false;
  private out: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  private inflated = 0;
  private readonly deadline: number;

  constructor(
    private readonly fd: number,
    private readonly bounds: GzipBounds = DEFAULT_GZIP_BOUNDS,
  ) {
    this.deadline = Date.now() + bounds.maxMillis;
  }

  read(n: number): Buffer {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const piece = this.next(n - got);
      if (!piece.length) break;
      parts.push(piece);
      got += piece.length;
    }
    return Buffer.concat(parts, got);
  }

  skip(n: number): void {
    while (n > 0) {
      const piece = this.next(n);
      if (!piece.length) return; // end of data: the walk finds no next HDU
      n -= piece.length;
    }
  }

  /** The next `n` bytes (fewer at the end), without consuming them. */
  peek(n: number): Buffer {
    while (this.out.length < n && !this.ended) this.fill();
    return this.out.subarray(0, n);
  }

  /** Up to `max` inflated bytes; empty at the end of the stream. */
  private next(max: number): Buffer {
    while (!this.out.length) {
      if (this.ended) return this.out;
      this.fill();
    }
    const take = Math.min(max, this.out.length);
    const piece = this.out.subarray(0, take);
    this.out = this.out.subarray(take);
    return piece;
  }

  private fill(): void {
    if (Date.now() > this.deadline) throw new BoundError(`gzip: still reading after ${this.bounds.maxMillis} ms`);
    if (!this.zlib.pendingInput) {
      if (this.compressedOff >= this.compressed.length) {
        if (this.eof) {
          this.ended = true;
          return;
        }
        this.compressed = readFully(this.fd, this.filePos, READ);
        this.filePos += this.compressed.length;
        this.compressedOff = 0;
        if (this.compressed.length < READ) this.eof = true;
        if (!this.compressed.length) return;
      }
      this.zlib.feed(this.compressed.subarray(this.compressedOff, this.compressedOff + FEED));
      this.compressedOff += Math.min(FEED, this.compressed.length - this.compressedOff);
    }
    let out: Buffer;
    try {
      out = this.zlib.pull();
    } catch (err) {
      throw new FitsError(`not a readable gzip stream: ${(err as Error).message}`);
    }
    if (!out.length && this.zlib.pendingInput) this.ended = true; // bytes after the last gzip member
    this.inflated += out.length;
    if (this.inflated > this.bounds.maxInflated) throw new BoundError(`gzip: more than ${this.bounds.maxInflated} bytes to inflate`);
    if (this.inflated === 0 && this.filePos - this.compressed.length + this.compressedOff > this.bounds.maxPreamble) {
      throw new BoundError(`gzip: no FITS data in the first ${this.bounds.maxPreamble} compressed bytes (gzip header fields that long)`);
    }
    this.out = this.out.length ? Buffer.concat([this.out, out]) : out;
  }

  close(): void {
    this.zlib.close();
  }
}

function readFully(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}
