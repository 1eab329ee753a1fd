/**
 * One trace record: what the agent decided about one file (or directory) and applied, with the
 * file's checksums read through the verified descriptor the change was applied through. A record
 * is stored as the exact JSON text that was hashed (keys in a fixed order, no whitespace): the
 * record hash is SHA-256 of that UTF-8 text, the Merkle leaf is SHA-256(0x00 || record hash).
 */
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { adler32, adler32Hex } from '../rucio/adler32.js';
import type { Ownership } from '../../core/embargo/policy.js';

export const RECORD_VERSION = 1;

/** What kind of decision was applied. `re-embargo` is reserved for issue 18 item 3. */
export type TraceEvent = 'ingest' | 'embargo-lift' | 're-embargo' | 'quarantine' | 'fix' | 'directory';

export interface TraceHash {
  /** `sha256`, `sha3-256` (hex digests of the content) or `adler32` (8 hex digits, Rucio's form) */
  alg: 'sha256' | 'sha3-256' | 'adler32';
  value: string;
}

/** A sub-product of the file (e.g. a member of an archive, an HDU), each with its own hashes. Empty today. */
export interface TraceProduct {
  name: string;
  size?: number;
  hashes: TraceHash[];
}

export interface TraceOwnership {
  uid: number;
  gid: number;
  /** octal, four digits: '0640' */
  mode: string;
}

export interface TraceRecord {
  v: number;
  /** position in this agent's chain, from 1 */
  seq: number;
  /** record hash of seq - 1 (64 zeros for the first record) */
  prev: string;
  /** when the record was made (ISO 8601, UTC), just after the change was applied */
  time: string;
  /** the agent host, named by its signing certificate (CN or DNS name) */
  host: string;
  event: TraceEvent;
  campaign: string | null;
  path: string;
  name: string;
  /** bytes read for the hashes (the fstat size when the change was applied); null when nothing was read */
  size: number | null;
  /** empty when the content was not read (quarantines and directories, see docs/traces.md) */
  hashes: TraceHash[];
  products: TraceProduct[];
  decision: string;
  before: TraceOwnership;
  after: TraceOwnership;
  context: { command: string; run: number | null; pid: number };
}

export const GENESIS = '0'.repeat(64);

export function traceOwnership(o: Ownership): TraceOwnership {
  return { uid: o.uid, gid: o.gid, mode: (o.mode & 0o7777).toString(8).padStart(4, '0') };
}

/** The canonical text of a record: its fields in the order of TraceRecord, nothing else. */
export function canonical(r: TraceRecord): string {
  const own = (o: TraceOwnership) => ({ uid: o.uid, gid: o.gid, mode: o.mode });
  return JSON.stringify({
    v: r.v, seq: r.seq, prev: r.prev, time: r.time, host: r.host, event: r.event, campaign: r.campaign, path: r.path, name: r.name, size: r.size,
    hashes: r.hashes.map((h) => ({ alg: h.alg, value: h.value })),
    products: r.products.map((p) => ({ name: p.name, ...(p.size !== undefined ? { size: p.size } : {}), hashes: p.hashes.map((h) => ({ alg: h.alg, value: h.value })) })),
    decision: r.decision, before: own(r.before), after: own(r.after), context: { command: r.context.command, run: r.context.run, pid: r.context.pid },
  });
}

/** SHA-256 of the record text (hex). */
export function recordHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

const CHUNK = 1 << 20;
let chunk: Buffer | undefined;

/**
 * SHA-256, SHA3-256 (and Adler-32 when `withAdler32`: Rucio's checksum, computed in JavaScript, so
 * only when Rucio needs it) of an open file in one pass, read through its descriptor (the verified
 * one the change was applied through: never a path) from offset 0 up to `size` bytes (its fstat
 * size: a growing file or a device cannot make the read endless).
 */
export function hashFd(fd: number, size: number, withAdler32 = true): { hashes: TraceHash[]; bytes: number; adler32?: string } {
  const buf = (chunk ??= Buffer.allocUnsafe(CHUNK));
  const sha256 = createHash('sha256');
  const sha3 = createHash('sha3-256');
  let sum = 1;
  let bytes = 0;
  while (bytes < size) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, size - bytes), bytes);
    if (n === 0) break;
    const part = buf.subarray(0, n);
    sha256.update(part);
    sha3.update(part);
    if (withAdler32) sum = adler32(part, sum);
    bytes += n;
  }
  const hashes: TraceHash[] = [{ alg: 'sha256', value: sha256.digest('hex') }, { alg: 'sha3-256', value: sha3.digest('hex') }];
  if (!withAdler32) return { hashes, bytes };
  const a = adler32Hex(sum);
  hashes.push({ alg: 'adler32', value: a });
  return { hashes, bytes, adler32: a };
}
