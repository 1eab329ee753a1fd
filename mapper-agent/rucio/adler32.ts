import { readSync } from 'node:fs';

const MOD = 65521;
// Largest n such that 255n(n+1)/2 + (n+1)(MOD-1) <= 2^32-1: sums stay exact without a modulo per byte.
const NMAX = 5552;

/** Adler-32 of a buffer, continuing from `start` (1 for a fresh checksum). */
export function adler32(data: Uint8Array, start = 1): number {
  let a = start & 0xffff;
  let b = (start >>> 16) & 0xffff;
  let i = 0;
  while (i < data.length) {
    const end = Math.min(i + NMAX, data.length);
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= MOD;
    b %= MOD;
  }
  return ((b << 16) | a) >>> 0;
}

/** Rucio's form: 8 lowercase hex digits, zero-padded. */
export function adler32Hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/**
 * Adler-32 of an open file, read through its descriptor (the agent's verified one: never re-open a
 * path as root) from offset 0 up to `size` bytes (its fstat size: a file that grows meanwhile, or a
 * descriptor that is not a regular file, cannot make the read endless). Memory flat in the size.
 */
export function adler32OfFd(fd: number, size: number): { adler32: string; bytes: number } {
  const buf = Buffer.allocUnsafe(1 << 20);
  let sum = 1;
  let bytes = 0;
  while (bytes < size) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, size - bytes), bytes);
    if (n === 0) break;
    sum = adler32(buf.subarray(0, n), sum);
    bytes += n;
  }
  return { adler32: adler32Hex(sum), bytes };
}
