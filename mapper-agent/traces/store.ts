/**
 * The trace store (SQLite, WAL, its own file: <stateDir>/traces.sqlite). Records are appended in
 * one hash chain per agent (each names the hash of the one before it), stored as the exact text
 * that was hashed. Sealing groups the oldest unsealed records into batches of `batchSize`: a
 * Merkle tree (RFC 6962) over their record hashes, its root signed as CMS SignedData with the
 * host certificate, and every record's inclusion proof kept beside it. Appending and sealing each
 * run in one IMMEDIATE transaction, so two agent processes on one store keep one chain.
 *
 * Records are written before they are signed: a crash leaves them unsealed, and the next process
 * that opens the store with a signer seals them first.
 *
 * The write path only appends (records, proofs and batches in increasing keys): indexes of random
 * keys (hashes, names) would cost a page write per record and index. `find` keeps its own lookup
 * table (8-byte prefixes of the hashes and of the name's hash) and brings it up to date first.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { signDetached, type Signer } from '../../core/pki/cms.js';
import { leafHash, treeWithProofs } from './merkle.js';
import { canonical, GENESIS, recordHash, RECORD_VERSION, type TraceRecord } from './record.js';

/** A record before the store gives it its place in the chain. */
export type TraceEntry = Omit<TraceRecord, 'v' | 'seq' | 'prev' | 'host' | 'name'>;

export interface StoredTrace {
  seq: number;
  hash: string;
  /** the exact text that was hashed */
  text: string;
  batch: number | null;
  leaf: number | null;
  /** sibling hashes, leaf to root (hex) */
  proof: string[];
}

export interface StoredBatch {
  id: number;
  first: number;
  last: number;
  size: number;
  root: string;
  signature: Buffer;
  signedAt: string;
  /** SHA-256 of the signing certificate (as recorded; verify reads the certificate from the signature) */
  signer: string;
}

/** The traces of one campaign, as the compliance report names them (`traces find`, `traces verify` take it from there). */
export interface TraceReference {
  campaign: string;
  traces: number;
  /** counts by event type (ingest, lift, re-embargo, quarantine, fix) */
  byEvent: Record<string, number>;
  first: number;
  last: number;
  /** the signed batch holding the last trace: its id, range and Merkle root */
  lastBatch: { id: number; first: number; last: number; root: string; signedAt: string } | null;
}

type TraceRow = { seq: number; hash: string; record: string; batch: number | null; leaf: number | null; proof: Buffer | null };
type BatchRow = { id: number; first: number; last: number; size: number; root: string; signature: Buffer; signed_at: string; signer: string };

export class TraceStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly lastRow: Database.Statement;
  private readonly unsealed: Database.Statement;
  private readonly setProof: Database.Statement;
  private readonly insertBatch: Database.Statement;
  private readonly countUnsealed: Database.Statement;
  private pending = 0;

  /** `readonly`: open an existing store without writing to it (an auditor's copy); otherwise it is created if need be. */
  constructor(readonly file: string, private readonly o: { signer?: Signer; batchSize?: number; readonly?: boolean } = {}) {
    if (!o.readonly) mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file, o.readonly ? { readonly: true, fileMustExist: true } : {});
    if (!o.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
    }
    this.db.pragma('busy_timeout = 5000');
    if (!o.readonly) {
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS traces (
          seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, record TEXT NOT NULL, name TEXT NOT NULL, path TEXT NOT NULL,
          sha256 TEXT, sha3 TEXT, adler32 TEXT);
        CREATE TABLE IF NOT EXISTS proofs (seq INTEGER PRIMARY KEY, batch INTEGER NOT NULL, leaf INTEGER NOT NULL, proof BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS lookup (k INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (k, seq)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS batches (
          id INTEGER PRIMARY KEY, first INTEGER NOT NULL, last INTEGER NOT NULL, size INTEGER NOT NULL,
          root TEXT NOT NULL, signature BLOB NOT NULL, signed_at TEXT NOT NULL, signer TEXT NOT NULL);
      `);
    }
    this.insert = this.db.prepare('INSERT INTO traces (seq, hash, record, name, path, sha256, sha3, adler32) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.lastRow = this.db.prepare('SELECT seq, hash FROM traces ORDER BY seq DESC LIMIT 1');
    this.unsealed = this.db.prepare('SELECT seq, hash FROM traces WHERE seq > (SELECT coalesce(max(last), 0) FROM batches) ORDER BY seq LIMIT ?');
    this.countUnsealed = this.db.prepare('SELECT count(*) AS n FROM traces WHERE seq > (SELECT coalesce(max(last), 0) FROM batches)');
    this.setProof = this.db.prepare('INSERT INTO proofs (batch, leaf, proof, seq) VALUES (?, ?, ?, ?)');
    this.insertBatch = this.db.prepare('INSERT INTO batches (first, last, size, root, signature, signed_at, signer) VALUES (?, ?, ?, ?, ?, ?, ?)');
    if (o.signer && !o.readonly) {
      this.pending = (this.countUnsealed.get() as { n: number }).n;
      this.seal(true); // what a crashed process left unsealed
    }
  }

  get batchSize(): number {
    return this.o.batchSize ?? 1024;
  }

  /** The host records are written for: the signer's. */
  get host(): string {
    if (!this.o.signer) throw new Error('the trace store was opened without a signer');
    return this.o.signer.host;
  }

  /** Append records to the chain (one transaction); seals every full batch. Returns the records as stored. */
  append(entries: TraceEntry[]): { seq: number; hash: string }[] {
    if (!entries.length) return [];
    const host = this.host;
    const out = this.db.transaction(() => {
      const last = this.lastRow.get() as { seq: number; hash: string } | undefined;
      let seq = last?.seq ?? 0;
      let prev = last?.hash ?? GENESIS;
      const done: { seq: number; hash: string }[] = [];
      for (const e of entries) {
        seq++;
        const record: TraceRecord = { v: RECORD_VERSION, seq, prev, time: e.time, host, event: e.event, campaign: e.campaign, path: e.path, name: basename(e.path), size: e.size, hashes: e.hashes, products: e.products, decision: e.decision, before: e.before, after: e.after, context: e.context };
        const text = canonical(record);
        const hash = recordHash(text);
        const h = (alg: string) => e.hashes.find((x) => x.alg === alg)?.value ?? null;
        this.insert.run(seq, hash, text, record.name, record.path, h('sha256'), h('sha3-256'), h('adler32'));
        done.push({ seq, hash });
        prev = hash;
      }
      return done;
    }).immediate();
    this.pending += entries.length;
    if (this.pending >= this.batchSize) this.seal(false);
    return out;
  }

  /** Seal full batches of unsealed records (all of them when `all`): Merkle root, CMS signature, proofs. Returns the batches made. */
  seal(all: boolean): number {
    const signer = this.o.signer;
    if (!signer) throw new Error('the trace store was opened without a signer');
    let made = 0;
    this.db.transaction(() => {
      for (;;) {
        const rows = this.unsealed.all(this.batchSize) as { seq: number; hash: string }[];
        if (!rows.length || (rows.length < this.batchSize && !all)) break;
        const leaves = rows.map((r) => leafHash(Buffer.from(r.hash, 'hex')));
        const { root, proofs } = treeWithProofs(leaves);
        const at = new Date();
        const signature = signDetached(root, signer, at);
        const id = Number(this.insertBatch.run(rows[0]!.seq, rows[rows.length - 1]!.seq, rows.length, root.toString('hex'), signature, at.toISOString(), signer.fingerprint).lastInsertRowid);
        rows.forEach((r, i) => this.setProof.run(id, i, Buffer.concat(proofs[i]!), r.seq));
        made++;
        if (rows.length < this.batchSize) break;
      }
    }).immediate();
    this.pending = (this.countUnsealed.get() as { n: number }).n;
    return made;
  }

  /** Every trace in chain order (streams: flat memory). */
  *traces(): Generator<StoredTrace> {
    for (const r of this.db.prepare('SELECT seq, hash, record, batch, leaf, proof FROM traces LEFT JOIN proofs USING (seq) ORDER BY seq').iterate() as Iterable<TraceRow>) yield fromRow(r);
  }

  batches(): StoredBatch[] {
    return (this.db.prepare('SELECT * FROM batches ORDER BY id').all() as BatchRow[]).map(batchFromRow);
  }

  batch(id: number): StoredBatch | undefined {
    const r = this.db.prepare('SELECT * FROM batches WHERE id = ?').get(id) as BatchRow | undefined;
    return r ? batchFromRow(r) : undefined;
  }

  trace(seq: number): StoredTrace | undefined {
    const r = this.db.prepare('SELECT seq, hash, record, batch, leaf, proof FROM traces LEFT JOIN proofs USING (seq) WHERE seq = ?').get(seq) as TraceRow | undefined;
    return r ? fromRow(r) : undefined;
  }

  /**
   * Bring the lookup table up to date (records appended since the last `find`), in one transaction,
   * keys sorted so that each page of it is written once. Needs a writable store.
   */
  private updateLookup(): void {
    const done = (this.db.prepare("SELECT value FROM meta WHERE key = 'lookup'").get() as { value: number } | undefined)?.value ?? 0;
    const rows = this.db.prepare('SELECT seq, hash, name, sha256, sha3, adler32 FROM traces WHERE seq > ? ORDER BY seq').all(done) as { seq: number; hash: string; name: string; sha256: string | null; sha3: string | null; adler32: string | null }[];
    if (!rows.length) return;
    const keys: [bigint, number][] = [];
    for (const r of rows) {
      keys.push([hexKey(r.hash), r.seq], [nameKey(r.name), r.seq]);
      for (const h of [r.sha256, r.sha3, r.adler32]) if (h) keys.push([hexKey(h), r.seq]);
    }
    keys.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    const insert = this.db.prepare('INSERT OR IGNORE INTO lookup (k, seq) VALUES (?, ?)');
    this.db.transaction(() => {
      for (const [k, seq] of keys) insert.run(k, seq);
      this.db.prepare("INSERT INTO meta (key, value) VALUES ('lookup', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(rows[rows.length - 1]!.seq);
    }).immediate();
  }

  /** Records under lookup key `k` matching `where`; records the lookup table does not cover yet (a read-only store) are scanned. */
  private candidates(k: bigint, where: string, params: Record<string, unknown>): StoredTrace[] {
    if (!this.o.readonly) this.updateLookup();
    const done = (this.db.prepare("SELECT value FROM meta WHERE key = 'lookup'").get() as { value: number } | undefined)?.value ?? 0;
    const sql = `SELECT seq, hash, record, batch, leaf, proof FROM traces LEFT JOIN proofs USING (seq)
      WHERE seq IN (SELECT seq FROM lookup WHERE k = @k UNION ALL SELECT seq FROM traces WHERE seq > @done) AND (${where}) ORDER BY seq`;
    return (this.db.prepare(sql).all({ ...params, k, done }) as TraceRow[]).map(fromRow);
  }

  /** Traces whose content hash (SHA-256, SHA3-256, Adler-32) or record hash is `hash` (hex, any case). */
  findByHash(hash: string): StoredTrace[] {
    const h = hash.toLowerCase();
    if (!/^[0-9a-f]{8,}$/.test(h)) return [];
    return this.candidates(hexKey(h), 'sha256 = @h OR sha3 = @h OR hash = @h OR adler32 = @h', { h });
  }

  /** Traces of a file: by its full path, or by its base name when `name` has no slash. */
  findByName(name: string): StoredTrace[] {
    if (name.includes('/')) {
      const path = name.replace(/\/+$/, '');
      return this.candidates(nameKey(basename(path)), 'name = @name AND path = @path', { name: basename(path), path });
    }
    return this.candidates(nameKey(name), 'name = @name', { name });
  }

  /**
   * Per campaign, the traces behind its figures (for the compliance report): how many, by event
   * type, the first and last sequence numbers, and the signed batch holding the last one (null
   * while unsealed). A full scan of the records: a report's cost, not an ingest's.
   */
  campaignReferences(): TraceReference[] {
    const rows = this.db.prepare(`SELECT json_extract(record, '$.campaign') AS campaign, json_extract(record, '$.event') AS event,
      count(*) AS n, min(seq) AS first, max(seq) AS last FROM traces GROUP BY campaign, event`).all() as { campaign: string | null; event: string; n: number; first: number; last: number }[];
    const byCampaign = new Map<string, TraceReference>();
    for (const r of rows) {
      const key = r.campaign ?? '';
      let ref = byCampaign.get(key);
      if (!ref) byCampaign.set(key, (ref = { campaign: key, traces: 0, byEvent: {}, first: r.first, last: r.last, lastBatch: null }));
      ref.traces += r.n;
      ref.byEvent[r.event] = (ref.byEvent[r.event] ?? 0) + r.n;
      ref.first = Math.min(ref.first, r.first);
      ref.last = Math.max(ref.last, r.last);
    }
    const batchOf = this.db.prepare('SELECT id, first, last, root, signed_at FROM batches WHERE first <= ? AND last >= ?');
    for (const ref of byCampaign.values()) {
      const b = batchOf.get(ref.last, ref.last) as { id: number; first: number; last: number; root: string; signed_at: string } | undefined;
      ref.lastBatch = b ? { id: b.id, first: b.first, last: b.last, root: b.root, signedAt: b.signed_at } : null;
    }
    return [...byCampaign.values()].sort((a, b) => a.campaign.localeCompare(b.campaign));
  }

  counts(): { traces: number; unsealed: number; batches: number } {
    const t = (this.db.prepare('SELECT count(*) AS n FROM traces').get() as { n: number }).n;
    const b = (this.db.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n;
    return { traces: t, unsealed: (this.countUnsealed.get() as { n: number }).n, batches: b };
  }

  /** Seal what is left (when there is a signer) and close. */
  close(): void {
    try {
      if (this.o.signer && !this.o.readonly) this.seal(true);
    } finally {
      this.db.close();
    }
  }

  /** For tests and repairs only: the raw database. */
  get raw(): Database.Database {
    return this.db;
  }
}

/** The lookup key of a hex hash: its first 8 bytes as a signed 64-bit integer (Adler-32: its 4 bytes). */
function hexKey(hex: string): bigint {
  return BigInt.asIntN(64, BigInt(`0x${hex.slice(0, 16)}`));
}

function nameKey(name: string): bigint {
  return hexKey(createHash('sha256').update(name, 'utf8').digest('hex'));
}

function fromRow(r: TraceRow): StoredTrace {
  const proof: string[] = [];
  if (r.proof) for (let i = 0; i + 32 <= r.proof.length; i += 32) proof.push(r.proof.subarray(i, i + 32).toString('hex'));
  return { seq: r.seq, hash: r.hash, text: r.record, batch: r.batch, leaf: r.leaf, proof };
}

function batchFromRow(r: BatchRow): StoredBatch {
  return { id: r.id, first: r.first, last: r.last, size: r.size, root: r.root, signature: Buffer.from(r.signature), signedAt: r.signed_at, signer: r.signer };
}
