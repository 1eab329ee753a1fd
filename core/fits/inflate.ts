/**
 * Synchronous, incremental gunzip: input in small pieces, output in small pieces, so memory is
 * bounded by the piece sizes whatever the file holds (a gzip bomb inflates ~1000:1).
 *
 * Node offers no public synchronous streaming inflate (gunzipSync closes its engine after one
 * call), so this drives the zlib binding of a Gunzip object directly: `_handle.writeSync` with
 * the state array `_writeState` ([availOut, availIn] after the call), the same calls Node's own
 * zlibBufferSync makes (lib/zlib.js, processChunkSync). Multi-member files are joined by Node's
 * binding; anything else after the end of a member is a data error. Checked by
 * test/core/fits/inflate.test.ts on every Node the suite runs on.
 */
import { createGunzip, constants } from 'node:zlib';

interface Binding {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  close(): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

/** The piece of output one call returns at most. */
const OUT = 64 * 1024;

export class Inflater {
  private readonly handle: Binding;
  private readonly state: Uint32Array;
  private readonly out = Buffer.allocUnsafe(OUT);
  private input: Uint8Array = new Uint8Array(0);
  private inOff = 0;
  private error: string | undefined;
  private closed = false;

  constructor() {
    const engine = createGunzip() as unknown as { _handle?: Binding; _writeState?: Uint32Array };
    if (!engine._handle || !engine._writeState || typeof engine._handle.writeSync !== 'function') {
      throw new Error('this Node has no synchronous zlib binding (node:zlib internals changed)');
    }
    this.handle = engine._handle;
    this.state = engine._writeState;
    // Replaces Node's handler, which would destroy the stream asynchronously.
    this.handle.onerror = (message, _errno, code) => {
      this.error = `${code ?? 'zlib'}: ${message}`;
    };
  }

  /** Input still to be consumed. */
  get pendingInput(): number {
    return this.input.length - this.inOff;
  }

  feed(input: Uint8Array): void {
    if (this.pendingInput) throw new Error('feed() before the previous input was consumed');
    this.input = input;
    this.inOff = 0;
  }

  /**
   * Up to 64 KiB of output from the input fed so far (a copy); an empty buffer when more input is
   * needed, or when the stream ended (then `pendingInput` may stay > 0: trailing bytes).
   */
  pull(): Buffer {
    if (this.closed) return Buffer.alloc(0);
    const avail = this.pendingInput;
    this.handle.writeSync(constants.Z_SYNC_FLUSH, this.input, this.inOff, avail, this.out, 0, OUT);
    if (this.error) throw new Error(this.error);
    const [outLeft, inLeft] = [this.state[0]!, this.state[1]!];
    this.inOff += avail - inLeft;
    return Buffer.from(this.out.subarray(0, OUT - outLeft));
  }

  close(): void {
    if (!this.closed) this.handle.close();
    this.closed = true;
  }
}
