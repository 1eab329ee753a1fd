/**
 * Each account's multimap suffix (` username:… uid:… gid:…,true gid:…`: accountSuffixInto's
 * bytes) made once, while the identities are read (prepare: at the account's first identity), and
 * copied into each of its lines by the writer (into). The map's lines come in key order, an
 * account's lines spread over the file: formatting the suffix at write time formatted it once per
 * line, after the last identity, where the whole of it is waited for. Made during the read, the
 * work overlaps slapd's answers instead. (Keeping a suffix's bytes after its first line, at write
 * time, gained nothing: that did the same work, only later.)
 *
 * The bytes live in 1 MiB chunks, three numbers an account: a few MB at 100k accounts. An account
 * whose suffix cannot be written (not a POSIX name or id) or is longer than a chunk is not kept:
 * into() then formats it as before, with the same error.
 */
import { accountSuffixInto } from './multimap-format.js';

/** What a suffix is made of, by account index (build.ts's owners). */
export interface SuffixSource {
  username(i: number): string;
  uidNumber(i: number): number;
  gidNumber(i: number): number;
  campaignGids(i: number): number[];
}

const CHUNK = 1 << 20;
const NOT_PREPARED = 0;
const NOT_KEPT = -1;

export class AccountSuffixes {
  private readonly chunks: Buffer[] = [];
  private used = 0;
  /** per account: NOT_PREPARED, NOT_KEPT, or its chunk's index + 1 */
  private chunkOf = new Int32Array(1024);
  private start = new Int32Array(1024);
  private length = new Int32Array(1024);

  constructor(private readonly source: SuffixSource) {}

  /** Make account o's suffix, once. Never throws: a suffix that cannot be made is left to into(). */
  prepare(o: number): void {
    if (o >= this.chunkOf.length) this.grow(o);
    if (this.chunkOf[o] !== NOT_PREPARED) return;
    this.chunkOf[o] = NOT_KEPT;
    let end: number;
    try {
      end = this.writeInto(this.current(), this.used, o);
      if (end < 0) {
        this.chunks.push(Buffer.allocUnsafeSlow(CHUNK));
        this.used = 0;
        end = this.writeInto(this.current(), 0, o);
      }
    } catch {
      return;
    }
    if (end < 0) return;
    this.chunkOf[o] = this.chunks.length;
    this.start[o] = this.used;
    this.length[o] = end - this.used;
    this.used = end;
  }

  /** Account o's suffix into out at `at`: the end, or -1 when out is too short. Throws as accountSuffixInto does. */
  into(out: Buffer, at: number, o: number): number {
    const c = o < this.chunkOf.length ? this.chunkOf[o]! : NOT_PREPARED;
    if (c <= 0) return this.writeInto(out, at, o);
    const length = this.length[o]!;
    if (at + length > out.length) return -1;
    const start = this.start[o]!;
    return at + this.chunks[c - 1]!.copy(out, at, start, start + length);
  }

  private writeInto(out: Buffer, at: number, o: number): number {
    const s = this.source;
    return accountSuffixInto(out, at, s.username(o), s.uidNumber(o), s.gidNumber(o), s.campaignGids(o));
  }

  private current(): Buffer {
    if (!this.chunks.length) this.chunks.push(Buffer.allocUnsafeSlow(CHUNK));
    return this.chunks[this.chunks.length - 1]!;
  }

  private grow(o: number): void {
    let n = this.chunkOf.length;
    while (n <= o) n *= 2;
    const bigger = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.chunkOf = bigger(this.chunkOf);
    this.start = bigger(this.start);
    this.length = bigger(this.length);
  }
}
