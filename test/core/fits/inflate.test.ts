import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFitsFile } from '../../../core/fits/detect.js';
import { FitsError } from '../../../core/fits/header.js';
import { Inflater } from '../../../core/fits/inflate.js';
import { fitsFile } from '../../support/fits.js';

/** Everything the inflater gives for `input` fed in `piece`-byte pieces. */
function inflateAll(input: Buffer, piece: number): { out: Buffer; largest: number } {
  const z = new Inflater();
  const parts: Buffer[] = [];
  let largest = 0;
  try {
    for (let i = 0; i < input.length; i += piece) {
      z.feed(input.subarray(i, i + piece));
      for (let b = z.pull(); b.length; b = z.pull()) {
        parts.push(b);
        largest = Math.max(largest, b.length);
      }
      if (z.pendingInput) break; // the stream ended before this input
    }
    return { out: Buffer.concat(parts), largest };
  } finally {
    z.close();
  }
}

describe('core/fits/inflate: synchronous incremental gunzip on Node\'s zlib binding', () => {
  it('inflates in bounded pieces whatever the ratio (1 MiB of zeros fed 4 KiB at a time)', () => {
    const zeros = Buffer.alloc(1 << 20);
    const r = inflateAll(gzipSync(zeros), 4096);
    expect(r.out.equals(zeros)).to.equal(true);
    expect(r.largest).to.be.at.most(64 * 1024);
  });

  it('joins gzip members (RFC 1952 §2.2: a file may hold several), byte by byte too', () => {
    const two = Buffer.concat([gzipSync('hello '), gzipSync('world')]);
    expect(inflateAll(two, 1).out.toString()).to.equal('hello world');
    expect(inflateAll(two, 1000).out.toString()).to.equal('hello world');
  });

  it('a truncated stream gives what it has; garbage gives an error', () => {
    const data = gzipSync(Buffer.from('x'.repeat(5000)));
    expect(inflateAll(data.subarray(0, data.length - 12), 100).out.toString()).to.match(/^x+$/);
    expect(() => inflateAll(Buffer.concat([gzipSync('a'), Buffer.from('garbage')]), 5)).to.throw(/header check|unknown/);
    expect(() => inflateAll(Buffer.from('not gzip at all'), 5)).to.throw(/header check/);
  });

  it('the time bound and the inflated-bytes bound end in a FitsError or a recorded stop, never a hang', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-inflate-'));
    const p = join(dir, 'big.fits.gz');
    writeFileSync(p, gzipSync(Buffer.concat([fitsFile([['CAMPAIGN', 'x']], 4 << 20), fitsFile([])])));
    expect(() => readFitsFile(p, { gzip: { maxInflated: 1 << 30, maxPreamble: 1 << 20, maxMillis: -1 } })).to.throw(FitsError, /still reading after -1 ms/);
    const stopped = readFitsFile(p, { gzip: { maxInflated: 1 << 20, maxPreamble: 1 << 20, maxMillis: 10_000 } });
    expect(stopped.kind === 'fits' && stopped.headers.stopped).to.match(/more than 1048576 bytes to inflate/);
    const whole = readFitsFile(p);
    expect(whole.kind === 'fits' && whole.headers.stopped).to.match(/not an extension/); // the second SIMPLE header is not an XTENSION
  });
});
