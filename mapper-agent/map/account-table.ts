/**
 * The map's accounts as flat tables instead of an object per account: a username -> slot index,
 * and per slot the uid, primary gid and status in typed arrays, the campaign gids in one shared
 * array (offsets per slot). Memberships arrive first (campaign entries name their members), the
 * people after: a membership is kept as a (slot, gid) pair until seal() gathers each account's
 * gids. A few dozen bytes an account, and nothing for the garbage collector to walk.
 *
 * get(username) still answers a MapAccount (made on request) for callers that want one.
 */
import type { MapAccount } from './directory-reader.js';

const PERSON = 1;
const ACTIVE = 2;

export class AccountTable {
  private readonly slots = new Map<string, number>();
  private readonly names: string[] = [];
  // Float64: ids are kept exactly as read (any integer), so the format's range check sees what the directory holds.
  private uid = new Float64Array(1024);
  private gid = new Float64Array(1024);
  private flags = new Uint8Array(1024);
  private pairSlot: Int32Array | undefined = new Int32Array(1024);
  private pairGid: Float64Array | undefined = new Float64Array(1024);
  private pairs = 0;
  private offsets: Uint32Array | undefined;
  private gids: Float64Array | undefined;
  private people = 0;

  /** The campaign with gid `gid` counts `username` as a member (call before seal). */
  addMembership(username: string, gid: number): void {
    if (!this.pairSlot || !this.pairGid) throw new Error('account table already sealed');
    const s = this.slotFor(username);
    if (this.pairs === this.pairSlot.length) {
      this.pairSlot = grow(this.pairSlot, Int32Array);
      this.pairGid = grow(this.pairGid, Float64Array);
    }
    this.pairSlot[this.pairs] = s;
    this.pairGid[this.pairs++] = gid;
  }

  /** The person entry of `username` (a second one for the same name replaces the first). */
  setPerson(username: string, uidNumber: number, gidNumber: number, active: boolean): void {
    const s = this.slotFor(username);
    if (!(this.flags[s]! & PERSON)) this.people++;
    this.uid[s] = uidNumber;
    this.gid[s] = gidNumber;
    this.flags[s] = PERSON | (active ? ACTIVE : 0);
  }

  /** After the last membership and person: each account's campaign gids, ascending; members without a person entry are dropped. */
  seal(): void {
    const n = this.names.length;
    const counts = new Uint32Array(n + 1);
    for (let i = 0; i < this.pairs; i++) {
      const s = this.pairSlot![i]!;
      if (this.flags[s]! & PERSON) counts[s + 1]!++;
    }
    for (let s = 0; s < n; s++) counts[s + 1]! += counts[s]!;
    const gids = new Float64Array(counts[n]!);
    const fill = counts.slice(0, n);
    for (let i = 0; i < this.pairs; i++) {
      const s = this.pairSlot![i]!;
      if (this.flags[s]! & PERSON) gids[fill[s]!++] = this.pairGid![i]!;
    }
    for (let s = 0; s < n; s++) if (counts[s + 1]! - counts[s]! > 1) gids.subarray(counts[s]!, counts[s + 1]!).sort();
    this.offsets = counts;
    this.gids = gids;
    this.pairSlot = undefined;
    this.pairGid = undefined;
    this.pairs = 0;
  }

  /** Number of accounts (person entries). */
  get size(): number {
    return this.people;
  }

  /** The account's index, or -1 when there is no person of that name. */
  indexOf(username: string): number {
    const s = this.slots.get(username);
    return s !== undefined && this.flags[s]! & PERSON ? s : -1;
  }

  username(i: number): string {
    return this.names[i]!;
  }
  uidNumber(i: number): number {
    return this.uid[i]!;
  }
  gidNumber(i: number): number {
    return this.gid[i]!;
  }
  active(i: number): boolean {
    return (this.flags[i]! & ACTIVE) !== 0;
  }
  campaignGids(i: number): number[] {
    if (!this.offsets) throw new Error('account table not sealed');
    // A loop, not Array.from(subarray): no view per call (the map writer asks once per line).
    const from = this.offsets[i]!;
    const gids = new Array<number>(this.offsets[i + 1]! - from);
    for (let k = 0; k < gids.length; k++) gids[k] = this.gids![from + k]!;
    return gids;
  }

  get(username: string): MapAccount | undefined {
    const i = this.indexOf(username);
    if (i < 0) return undefined;
    return { username, uidNumber: this.uid[i]!, gidNumber: this.gid[i]!, active: this.active(i), campaignGids: this.campaignGids(i) };
  }

  has(username: string): boolean {
    return this.indexOf(username) >= 0;
  }

  private slotFor(username: string): number {
    let s = this.slots.get(username);
    if (s === undefined) {
      s = this.names.length;
      this.slots.set(username, s);
      this.names.push(username);
      if (s === this.flags.length) {
        this.uid = grow(this.uid, Float64Array);
        this.gid = grow(this.gid, Float64Array);
        this.flags = grow(this.flags, Uint8Array);
      }
    }
    return s;
  }
}

function grow<T extends Int32Array | Float64Array | Uint8Array>(a: T, Kind: { new (n: number): T }): T {
  const b = new Kind(a.length * 2);
  b.set(a);
  return b;
}
