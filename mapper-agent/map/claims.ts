/**
 * The map keys of one type (`dn:` or `oidc:`) as claimed by accounts, kept off the JavaScript heap:
 * each value (the key without its prefix) as UTF-8 bytes in 1 MiB chunks, and per claim four
 * numbers (where its bytes are, the account's index, the claim's arrival number). Hundreds of
 * thousands of keys are then a few flat buffers that the garbage collector never copies or walks,
 * instead of as many strings that each survive two scavenges on their way to the old generation.
 *
 * Grid DNs of one CA and organisation share everything up to their last RDN: with `splitAt: '/'`
 * a value is kept as that shared part, stored once (up to MAX_PREFIXES of them), and its own rest.
 *
 * merge() sorts the claims once, in the order JavaScript compares the strings (UTF-16 code units),
 * and makes one entry per key: a key claimed by more than one account is left out there, with the
 * counts and message a lookup per claim would give.
 */

const CHUNK = 1 << 20;

/**
 * UTF-8 bytes compare in code point order; strings compare in UTF-16 code unit order, which puts
 * U+10000.. (surrogates D800..DFFF) before U+E000..U+FFFF. Their lead bytes (F0..F4 and EE, EF)
 * are re-ranked so that byte order is the string order. Only lead bytes take these values.
 */
const RANK = new Uint8Array(256).map((_, b) => b);
[0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xee, 0xef].forEach((b, i) => (RANK[b] = 0xee + i));

/** Shared parts kept at most; values whose shared part comes later are stored whole (a directory of unrelated DNs gains nothing from a dictionary). */
const MAX_PREFIXES = 4096;

/** labelScan answers -1, 0 or 1: this marks a shared head not scanned yet. */
const UNSCANNED = 2;

/** Ranges shorter than this are sorted by insertion. */
const SMALL = 12;

export class Claims {
  private readonly chunks: Buffer[] = [];
  private used = CHUNK;
  private count = 0;
  private chunk = new Uint32Array(1024);
  private start = new Uint32Array(1024);
  private length = new Uint32Array(1024);
  private owner = new Int32Array(1024);
  private seq = new Uint32Array(1024);
  /** the claim's shared part (index into the dictionary below), or -1 */
  private shared = new Int32Array(1024);
  private readonly sharedIds = new Map<string, number>();
  private readonly sharedText: string[] = [];
  private readonly sharedChunk = new Uint32Array(MAX_PREFIXES);
  private readonly sharedStart = new Uint32Array(MAX_PREFIXES);
  private readonly sharedLength = new Uint32Array(MAX_PREFIXES);
  /** sharedLabelState's answers, by shared head (UNSCANNED until asked) */
  private readonly sharedLabel = new Int8Array(MAX_PREFIXES).fill(UNSCANNED);
  /** headsDiffer's answers, by pair of shared heads (sorting meets the same pairs again and again) */
  private readonly headPairs = new Map<number, number>();

  private readonly prefixBytes: Buffer;

  /** `prefix`: the key's type prefix (`dn:`); `splitAt`: values share what comes before the last such character */
  constructor(readonly prefix: string, private readonly splitAt?: string) {
    this.prefixBytes = Buffer.from(prefix, 'utf8');
  }

  get size(): number {
    return this.count;
  }

  /** `owner` claims the key prefix+value; `seq` numbers the claim among all claims, in arrival order. */
  add(value: string, owner: number, seq: number): void {
    const n = this.count;
    if (this.owner.length === 0) throw new Error('claims already merged');
    if (n === this.chunk.length) this.grow();
    let shared = -1;
    let rest = value;
    const cut = this.splitAt === undefined ? -1 : value.lastIndexOf(this.splitAt);
    if (cut > 0) {
      const head = value.slice(0, cut);
      let id = this.sharedIds.get(head);
      if (id === undefined && this.sharedText.length < MAX_PREFIXES) {
        id = this.sharedText.length;
        const [c, s, l] = this.store(head);
        this.sharedChunk[id] = c;
        this.sharedStart[id] = s;
        this.sharedLength[id] = l;
        this.sharedText.push(head);
        this.sharedIds.set(head, id);
      }
      if (id !== undefined) {
        shared = id;
        rest = value.slice(cut);
      }
    }
    const [c, s, l] = this.store(rest);
    this.chunk[n] = c;
    this.start[n] = s;
    this.length[n] = l;
    this.shared[n] = shared;
    this.owner[n] = owner;
    this.seq[n] = seq;
    this.count = n + 1;
  }

  /** Append the UTF-8 bytes of text to the arena: [chunk, start, length]. */
  private store(text: string): [number, number, number] {
    // No chunk yet: no room at all, not even for an empty value.
    let room = this.chunks.length ? this.chunks[this.chunks.length - 1]!.length - this.used : -1;
    if (text.length * 3 > room) {
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > room) {
        this.chunks.push(Buffer.allocUnsafeSlow(Math.max(CHUNK, bytes)));
        this.used = 0;
        room = this.chunks[this.chunks.length - 1]!.length;
      }
    }
    const start = this.used;
    const written = this.chunks[this.chunks.length - 1]!.write(text, start, 'utf8');
    this.used += written;
    return [this.chunks.length - 1, start, written];
  }

  /**
   * One entry per key, sorted. Claims of one key are taken in arrival order: a key whose claims name
   * more than one account is left out, counting two at the first claim by another account and one
   * for every later claim, and reported (with the number of the claim that made it a conflict).
   */
  merge(usernameOf: (owner: number) => string, conflicts: { at: number; text: string }[]): MergedKeys {
    const n = this.count;
    const order = this.sorted();
    const keyClaim = new Uint32Array(n);
    const keyOwner = new Int32Array(n);
    const first = new Uint32Array(n);
    const out = new Uint8Array(n);
    let conflicting = 0;
    let m = 0;
    for (let g = 0; g < n; ) {
      const c0 = order[g]!;
      let h = g + 1;
      while (h < n && this.equal(c0, order[h]!)) h++;
      const o = this.owner[c0]!;
      let d = g + 1;
      while (d < h && this.owner[order[d]!] === o) d++;
      keyClaim[m] = c0;
      keyOwner[m] = o;
      first[m] = this.seq[c0]!;
      if (d < h) {
        out[m] = 1;
        conflicting += 2 + (h - d - 1);
        conflicts.push({ at: this.seq[order[d]!]!, text: `${this.prefix}${this.value(c0)}: claimed by both ${usernameOf(o)} and ${usernameOf(this.owner[order[d]!]!)}; left out for both` });
      }
      m++;
      g = h;
    }
    // Only the values are read from here on: the per-claim owners and arrival numbers can go.
    this.owner = new Int32Array(0);
    this.seq = new Uint32Array(0);
    return new MergedKeys(this, keyClaim.subarray(0, m), keyOwner.subarray(0, m), first.subarray(0, m), out.subarray(0, m), conflicting);
  }

  /** The value of claim c, as a string. */
  value(c: number): string {
    const s = this.start[c]!;
    const rest = this.chunks[this.chunk[c]!]!.toString('utf8', s, s + this.length[c]!);
    const shared = this.shared[c]!;
    return shared < 0 ? rest : this.sharedText[shared]! + rest;
  }

  /**
   * Claim c's key as multimap-format.ts quote() writes it (`"`, prefix, value, `"`, with a backslash
   * before each backslash and double quote), as UTF-8 bytes into out at `at`: the end, or -1 when
   * out may be too short.
   */
  quotedInto(c: number, out: Buffer, at: number): number {
    const shared = this.shared[c]!;
    const sharedLength = shared < 0 ? 0 : this.sharedLength[shared]!;
    if (at + 2 + this.prefixBytes.length + 2 * (sharedLength + this.length[c]!) > out.length) return -1;
    out[at++] = QUOTE;
    at += this.prefixBytes.copy(out, at);
    if (shared >= 0) at = escapedInto(this.chunks[this.sharedChunk[shared]!]!, this.sharedStart[shared]!, sharedLength, out, at);
    at = escapedInto(this.chunks[this.chunk[c]!]!, this.start[c]!, this.length[c]!, out, at);
    out[at++] = QUOTE;
    return at;
  }

  /** Claim c's value has this byte (an ASCII character: no byte of a longer UTF-8 sequence is one). */
  hasByte(c: number, byte: number): boolean {
    const shared = this.shared[c]!;
    if (shared >= 0 && hasByteIn(this.chunks[this.sharedChunk[shared]!]!, this.sharedStart[shared]!, this.sharedLength[shared]!, byte)) return true;
    return hasByteIn(this.chunks[this.chunk[c]!]!, this.start[c]!, this.length[c]!, byte);
  }

  /**
   * False only when the grid-mapfile's key of claim c's DN (build.ts gridKey: trimmed, each span
   * from a / to the next = upper-cased) is the value itself: all ASCII, no space or control
   * character at either end, no a-z between a / and the next =. True may still give the same key.
   */
  gridKeyMayChange(c: number): boolean {
    const length = this.valueLength(c);
    if (!length) return false;
    const edge = (b: number) => b <= 0x20 || b >= 0x80;
    if (edge(this.byteAt(c, 0)) || edge(this.byteAt(c, length - 1))) return true;
    const shared = this.shared[c]!;
    let state = 0;
    if (shared >= 0) state = this.sharedLabelState(shared);
    if (state >= 0) state = labelScan(this.chunks[this.chunk[c]!]!, this.start[c]!, this.length[c]!, state);
    return state < 0;
  }

  /** labelScan of shared head h from the start, scanned once: many values share it. */
  private sharedLabelState(h: number): number {
    let state = this.sharedLabel[h]!;
    if (state === UNSCANNED) {
      state = labelScan(this.chunks[this.sharedChunk[h]!]!, this.sharedStart[h]!, this.sharedLength[h]!, 0);
      this.sharedLabel[h] = state;
    }
    return state;
  }

  private valueLength(c: number): number {
    const shared = this.shared[c]!;
    return (shared < 0 ? 0 : this.sharedLength[shared]!) + this.length[c]!;
  }

  /** The byte at depth d of claim c's value, or -1 past the end. */
  private byteAt(c: number, d: number): number {
    const shared = this.shared[c]!;
    if (shared >= 0) {
      const l = this.sharedLength[shared]!;
      if (d < l) return this.chunks[this.sharedChunk[shared]!]![this.sharedStart[shared]! + d]!;
      d -= l;
    }
    return d < this.length[c]! ? this.chunks[this.chunk[c]!]![this.start[c]! + d]! : -1;
  }

  /** Claims c and query (UTF-8 bytes) in string order: negative, 0 or positive. */
  compareTo(c: number, query: Buffer): number {
    for (let d = 0; ; d++) {
      const a = this.charAt(c, d);
      const b = d < query.length ? RANK[query[d]!]! : -1;
      if (a !== b) return a - b;
      if (a < 0) return 0;
    }
  }

  private equal(a: number, b: number): boolean {
    // A value's shared part depends on the value alone (the dictionary only grows, and a part once in it is always used): equal values share it.
    if (this.shared[a] !== this.shared[b]) return false;
    const len = this.length[a]!;
    if (this.length[b] !== len) return false;
    const ba = this.chunks[this.chunk[a]!]!;
    const bb = this.chunks[this.chunk[b]!]!;
    const sa = this.start[a]!;
    const sb = this.start[b]!;
    // Sorted neighbours share long prefixes: compare from the end.
    for (let i = len - 1; i >= 0; i--) if (ba[sa + i] !== bb[sb + i]) return false;
    return true;
  }

  /** The character at depth d of claim c: its byte's rank, or -1 past the end. */
  private charAt(c: number, d: number): number {
    const b = this.byteAt(c, d);
    return b < 0 ? -1 : RANK[b]!;
  }

  /** Claims c and e compared from depth d on, equal keys in arrival order. */
  private compareFrom(c: number, e: number, d: number): number {
    for (;; d++) {
      const a = this.charAt(c, d);
      const b = this.charAt(e, d);
      if (a !== b) return a - b;
      if (a < 0) return c - e;
    }
  }

  /**
   * Claim indices in key order, equal keys in arrival order: a three-way radix quicksort
   * (Bentley and Sedgewick) on the bytes, which reads a common prefix once per level instead of
   * once per comparison. An explicit stack: keys sharing a long prefix cannot exhaust the call stack.
   */
  private sorted(): Uint32Array {
    const n = this.count;
    const idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    const stack: number[] = [0, n, 0];
    while (stack.length) {
      const d0 = stack.pop()!;
      let hi = stack.pop()!;
      let lo = stack.pop()!;
      let d = d0;
      while (hi - lo > 1) {
        if (hi - lo < SMALL) {
          for (let i = lo + 1; i < hi; i++) {
            const v = idx[i]!;
            let j = i;
            while (j > lo && this.compareFrom(idx[j - 1]!, v, d) > 0) {
              idx[j] = idx[j - 1]!;
              j--;
            }
            idx[j] = v;
          }
          break;
        }
        const p = median(this.charAt(idx[lo]!, d), this.charAt(idx[(lo + hi) >>> 1]!, d), this.charAt(idx[hi - 1]!, d));
        let lt = lo;
        let gt = hi;
        for (let i = lo; i < gt; ) {
          const c = this.charAt(idx[i]!, d);
          if (c < p) {
            const t = idx[lt]!;
            idx[lt++] = idx[i]!;
            idx[i++] = t;
          } else if (c > p) {
            const t = idx[--gt]!;
            idx[gt] = idx[i]!;
            idx[i] = t;
          } else i++;
        }
        if (lt - lo > 1) stack.push(lo, lt, d);
        if (hi - gt > 1) stack.push(gt, hi, d);
        if (p < 0) {
          // Every key in [lt, gt) ends here: equal keys, put back in arrival order (in place: no view per group, which are small).
          if (gt - lt > 32) {
            idx.subarray(lt, gt).sort();
            break;
          }
          for (let i = lt + 1; i < gt; i++) {
            const v = idx[i]!;
            let j = i;
            while (j > lt && idx[j - 1]! > v) {
              idx[j] = idx[j - 1]!;
              j--;
            }
            idx[j] = v;
          }
          break;
        }
        // Every key had the same byte here: go on from where the range's keys first differ (DNs of
        // one CA share long prefixes), not one byte at a time with a partition per byte.
        d = lt === lo && gt === hi ? this.agreeingDepth(idx, lo, hi, d + 1) : d + 1;
        lo = lt;
        hi = gt;
      }
    }
    this.headPairs.clear();
    return idx;
  }

  /**
   * The first depth from d (all keys of idx[lo..hi) agree before it) at which some key differs from
   * the range's first key, or either ends: every key has the same bytes as the first up to there.
   */
  private agreeingDepth(idx: Uint32Array, lo: number, hi: number, d: number): number {
    const r = idx[lo]!;
    let depth = this.valueLength(r);
    for (let i = lo + 1; i < hi && depth > d; i++) depth = this.agreeTo(r, idx[i]!, d, depth);
    return depth;
  }

  /** The first depth in [d, cap) at which claims a and b differ (or one ends), else cap; they agree before d. */
  private agreeTo(a: number, b: number, d: number, cap: number): number {
    const ha = this.shared[a]!;
    const hb = this.shared[b]!;
    if (ha >= 0 && ha === hb) {
      // One shared head: equal up to its end; then their own rests.
      const l = this.sharedLength[ha]!;
      const from = d > l ? d : l;
      return this.restsAgree(a, b, l, from, cap);
    }
    if (ha >= 0 && hb >= 0) {
      // Two heads: where they differ decides, unless one head is the start of the other.
      const at = this.headsDiffer(ha, hb);
      if (at >= 0) return at < cap ? (at > d ? at : d) : cap;
    }
    for (let k = d; k < cap; k++) {
      const x = this.byteAt(a, k);
      if (x < 0 || x !== this.byteAt(b, k)) return k;
    }
    return cap;
  }

  /** With one shared head of length l: the first depth in [from, cap) at which the rests of a and b differ or end, else cap. */
  private restsAgree(a: number, b: number, l: number, from: number, cap: number): number {
    const ca = this.chunks[this.chunk[a]!]!;
    const cb = this.chunks[this.chunk[b]!]!;
    const sa = this.start[a]! - l;
    const sb = this.start[b]! - l;
    const end = Math.min(cap, l + this.length[a]!, l + this.length[b]!);
    for (let k = from; k < end; k++) if (ca[sa + k] !== cb[sb + k]) return k;
    return end;
  }

  /** Where shared heads x and y first differ, or -1 when one is the start of the other (remembered per pair). */
  private headsDiffer(x: number, y: number): number {
    const key = x < y ? x * MAX_PREFIXES + y : y * MAX_PREFIXES + x;
    let at = this.headPairs.get(key);
    if (at === undefined) {
      const cx = this.chunks[this.sharedChunk[x]!]!;
      const cy = this.chunks[this.sharedChunk[y]!]!;
      const sx = this.sharedStart[x]!;
      const sy = this.sharedStart[y]!;
      const lx = this.sharedLength[x]!;
      const ly = this.sharedLength[y]!;
      const end = lx < ly ? lx : ly;
      let k = 0;
      while (k < end && cx[sx + k] === cy[sy + k]) k++;
      at = k < end ? k : -1;
      this.headPairs.set(key, at);
    }
    return at;
  }

  private grow(): void {
    const twice = <T extends Uint32Array | Int32Array>(a: T): T => {
      const b = new (a.constructor as { new (n: number): T })(a.length * 2);
      b.set(a);
      return b;
    };
    this.chunk = twice(this.chunk);
    this.start = twice(this.start);
    this.length = twice(this.length);
    this.owner = twice(this.owner);
    this.seq = twice(this.seq);
    this.shared = twice(this.shared);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const EQUALS = 0x3d;

/** Copy `length` bytes of `from` at `start` into out at `at`, a backslash before each backslash and double quote; the end. (No byte of a longer UTF-8 sequence is ASCII.) */
function escapedInto(from: Buffer, start: number, length: number, out: Buffer, at: number): number {
  let copied = start;
  const end = start + length;
  for (let i = start; i < end; i++) {
    const b = from[i]!;
    if (b !== QUOTE && b !== BACKSLASH) continue;
    at += from.copy(out, at, copied, i);
    out[at++] = BACKSLASH;
    copied = i;
  }
  return at + from.copy(out, at, copied, end);
}

function hasByteIn(from: Buffer, start: number, length: number, byte: number): boolean {
  for (let i = start, end = start + length; i < end; i++) if (from[i] === byte) return true;
  return false;
}

/**
 * Scan `length` bytes of a DN from `start` for what its grid key may change (see gridKeyMayChange):
 * -1 when found, else whether it ends inside a span from a / to the next = (1) or not (0), to go
 * on from. `state` is where the bytes before left off.
 */
function labelScan(from: Buffer, start: number, length: number, state: number): number {
  for (let i = start, end = start + length; i < end; i++) {
    const b = from[i]!;
    if (b >= 0x80) return -1;
    if (b === SLASH) state = 1;
    else if (b === EQUALS) state = 0;
    else if (state === 1 && b >= 0x61 && b <= 0x7a) return -1;
  }
  return state;
}

function median(a: number, b: number, c: number): number {
  return a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
}

/** One entry per key of a type, in key order; `out` marks keys left out (claimed by two accounts, or clashing with another account's key). */
export class MergedKeys {
  constructor(
    private readonly claims: Claims,
    private readonly claim: Uint32Array,
    readonly owner: Int32Array,
    /** arrival number of the key's first claim */
    readonly first: Uint32Array,
    readonly out: Uint8Array,
    readonly conflicting: number,
  ) {}

  get size(): number {
    return this.claim.length;
  }
  value(i: number): string {
    return this.claims.value(this.claim[i]!);
  }
  key(i: number): string {
    return this.claims.prefix + this.value(i);
  }
  /** key i quoted, as bytes into out at `at` (Claims.quotedInto): the end, or -1 when out may be too short */
  quotedInto(i: number, out: Buffer, at: number): number {
    return this.claims.quotedInto(this.claim[i]!, out, at);
  }
  /** key i's value has this (ASCII) byte */
  hasByte(i: number, byte: number): boolean {
    return this.claims.hasByte(this.claim[i]!, byte);
  }
  /** false only when key i's grid-mapfile key is its value (Claims.gridKeyMayChange) */
  gridKeyMayChange(i: number): boolean {
    return this.claims.gridKeyMayChange(this.claim[i]!);
  }
  /** index of the key with this value, or -1 */
  find(value: string): number {
    const query = Buffer.from(value, 'utf8');
    let lo = 0;
    let hi = this.claim.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.claims.compareTo(this.claim[mid]!, query);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
