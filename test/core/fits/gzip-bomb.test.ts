import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, crc32, createDeflateRaw } from 'node:zlib';
import { header as fitsHeader } from '../../support/fits.js';

const MiB = 1024 * 1024;

/**
 * Raw deflate pieces: the FITS header, then 1 MiB of zeros, each ended by a full flush (which
 * resets the compressor), so the zeros' piece is the same every time and 2 GiB of zeros is that
 * piece 2048 times: the bomb is built without compressing 2 GiB.
 */
async function pieces(head: Buffer): Promise<{ head: Buffer; zeros: Buffer; again: Buffer; tail: Buffer }> {
  const d = createDeflateRaw({ level: 9 });
  let got: Buffer[] = [];
  d.on('data', (c: Buffer) => got.push(c));
  const take = () => {
    const b = Buffer.concat(got);
    got = [];
    return b;
  };
  const flush = (data: Buffer) => new Promise<Buffer>((resolve) => {
    d.write(data);
    d.flush(constants.Z_FULL_FLUSH, () => resolve(take()));
  });
  const h = await flush(head);
  const zeros = await flush(Buffer.alloc(MiB));
  const again = await flush(Buffer.alloc(MiB));
  const tail = await new Promise<Buffer>((resolve) => d.end(() => resolve(take())));
  return { head: h, zeros, again, tail };
}

/** gzip (RFC 1952) with an FCOMMENT of `comment` bytes, a FITS header and `zeroMiB` MiB of zeros, written piece by piece. */
async function bomb(path: string, zeroMiB: number, comment: number): Promise<void> {
  // NAXIS1 = 2^31: the walk wants to skip the whole data unit to look for extensions.
  const header = fitsHeader([['CAMPAIGN', 'bomb']], [['SIMPLE', true], ['BITPIX', 8], ['NAXIS', 1], ['NAXIS1', zeroMiB * MiB]]);
  const p = await pieces(header);
  expect(p.zeros.equals(p.again), 'a full flush makes the zeros piece repeatable').to.equal(true);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, Buffer.from([0x1f, 0x8b, 8, comment ? 0x10 : 0, 0, 0, 0, 0, 0, 3]));
    for (let left = comment; left > 0; left -= MiB) writeSync(fd, Buffer.alloc(Math.min(MiB, left), 'a'));
    if (comment) writeSync(fd, Buffer.from([0]));
    writeSync(fd, p.head);
    let crc = crc32(header);
    const zeros = Buffer.alloc(MiB);
    for (let i = 0; i < zeroMiB; i++) {
      writeSync(fd, p.zeros);
      crc = crc32(zeros, crc);
    }
    writeSync(fd, p.tail);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE((header.length + zeroMiB * MiB) % 2 ** 32, 4);
    writeSync(fd, trailer);
  } finally {
    closeSync(fd);
  }
}

describe('core/fits gzip bound: a FITS header over 2 GiB of zeros, with and without a huge FCOMMENT', function () {
  this.timeout(60_000);

  it('stays under 200 MB RSS (measured in a child process) and ends in headers or a FitsError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-bomb-'));
    const plainBomb = join(dir, 'bomb.fits.gz');
    const commentBomb = join(dir, 'comment-bomb.fits.gz');
    const smallComment = join(dir, 'small-comment.fits.gz');
    await bomb(plainBomb, 2048, 0);
    await bomb(commentBomb, 2048, 64 * MiB);
    await bomb(smallComment, 16, 200 * 1024);
    const detect = new URL('../../../core/fits/detect.ts', import.meta.url).pathname;
    const script = `
      import { readFitsFile } from ${JSON.stringify(detect)};
      import { readFileSync } from 'node:fs';
      const out = {};
      for (const p of process.argv.slice(1)) {
        try {
          const r = readFitsFile(p);
          out[p] = r.kind === 'fits' ? { campaign: r.headers.primary.get('CAMPAIGN'), stopped: r.headers.stopped } : { notFits: r.reason };
        } catch (err) { out[p] = { error: err.constructor.name + ': ' + err.message }; }
      }
      const hwm = /VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
      process.stdout.write(JSON.stringify({ out, maxRssKiB: process.resourceUsage().maxRSS, vmHwmKiB: hwm ? Number(hwm[1]) : undefined }));`;
    const res = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, plainBomb, commentBomb, smallComment], { maxBuffer: MiB }).toString()) as {
      out: Record<string, { campaign?: string; stopped?: string; error?: string }>;
      maxRssKiB: number;
      vmHwmKiB: number;
    };
    console.log(`      gzip bomb child: peak RSS ${(res.maxRssKiB / 1024).toFixed(0)} MiB (VmHWM ${(res.vmHwmKiB / 1024).toFixed(0)} MiB)`);
    expect(res.maxRssKiB, 'peak RSS of the reading process').to.be.below(200 * 1024);
    // the header is read; the 2 GiB data unit is not inflated beyond the bound, and that is recorded
    expect(res.out[plainBomb]).to.include({ campaign: 'bomb' }).and.have.property('stopped').that.match(/more than 268435456 bytes to inflate/);
    expect(res.out[commentBomb]!.error).to.match(/^FitsError: .*gzip header fields/);
    expect(res.out[smallComment]).to.include({ campaign: 'bomb' });
  });
});
