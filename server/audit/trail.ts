/**
 * The audit trail: append-only, in SQLite, each record chained to the previous one by a SHA-256
 * hash over a canonical serialisation and signed (Ed25519 over that hash) with a key kept outside
 * the database (signing-key.ts). The chain's head (newest seq, hash, signed) is written beside the
 * database at every append and logged, so that removing the newest records is detected too.
 * Whoever can write the database but not read the key can neither edit, reorder, remove nor
 * re-hash records unnoticed; verify() and an auditor holding only the public key (verifyRecords on
 * an export) check all of it. Triggers refuse UPDATE and DELETE; appends from several processes
 * keep one chain because each append runs in a BEGIN IMMEDIATE transaction.
 */
import { createHash, sign, verify as verifySignature, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { AuditEvent, AuditSink } from '../services/context.js';
import { loadOrCreateSigningKey, writeNew, type SigningKey } from './signing-key.js';

export interface AuditRecord extends AuditEvent {
  seq: number;
  /** ISO 8601, UTC, millisecond precision */
  at: string;
  prevHash: string;
  hash: string;
  /** Ed25519 signature over the UTF-8 bytes of `hash`, base64 */
  signature: string;
}

/** The newest record as anchored outside the database: signed over `campaign-guard-audit-head\n<seq>\n<hash>`. */
export interface ChainHead {
  seq: number;
  hash: string;
  signature: string;
}

export interface AuditFilter {
  actor?: string;
  /** an action name, or a prefix ending in '.' (e.g. 'membership.' for every membership action) */
  action?: string;
  target?: string;
  /** records at or after this time (ISO 8601, UTC) */
  since?: string;
  /** records before this time (ISO 8601, UTC) */
  until?: string;
  /** records with seq below this (paging backwards from the newest) */
  before?: number;
  limit?: number;
}

export type ChainCheck = { ok: true; count: number } | { ok: false; count: number; brokenAt: number; reason: string };

const GENESIS = '0'.repeat(64);

export interface TrailOptions {
  /** the signing key file (default `<file>.key`, public key `<file>.key.pub`) */
  keyFile?: string;
  /** told the head after every append (the portal logs it: a copy outside this host's files) */
  onHead?: (head: ChainHead) => void;
}

export class AuditTrail implements AuditSink {
  private readonly db: Database.Database;
  private readonly appendTx: Database.Transaction<(event: AuditEvent, at: string) => AuditRecord>;
  private readonly key: SigningKey;
  private readonly headFile: string;

  constructor(file: string, options: TrailOptions = {}) {
    this.key = loadOrCreateSigningKey(options.keyFile ?? `${file}.key`);
    this.headFile = `${file}.head`;
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, actor_identity TEXT NOT NULL,
        source_ip TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, details TEXT,
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL, signature TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS audit_actor ON audit(actor);
      CREATE INDEX IF NOT EXISTS audit_action ON audit(action);
      CREATE INDEX IF NOT EXISTS audit_target ON audit(target);
      CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
      CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
    `);
    // Trails written before records were signed get the column; their records then fail verification (unsigned).
    if (!(this.db.prepare('PRAGMA table_info(audit)').all() as { name: string }[]).some((c) => c.name === 'signature')) {
      this.db.exec("ALTER TABLE audit ADD COLUMN signature TEXT NOT NULL DEFAULT ''");
    }
    const last = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    const insert = this.db.prepare(`INSERT INTO audit (seq, at, actor, actor_identity, source_ip, action, target, details, prev_hash, hash, signature)
      VALUES (@seq, @at, @actor, @actorIdentity, @sourceIp, @action, @target, @details, @prevHash, @hash, @signature)`);
    this.appendTx = this.db.transaction((event: AuditEvent, at: string) => {
      const prev = last.get() as { seq: number; hash: string } | undefined;
      const record = { ...event, seq: (prev?.seq ?? 0) + 1, at, prevHash: prev?.hash ?? GENESIS } as AuditRecord;
      record.hash = hashRecord(record);
      record.signature = sign(null, Buffer.from(record.hash), this.key.privateKey).toString('base64');
      insert.run({ ...record, details: record.details === undefined ? null : JSON.stringify(record.details) });
      // Inside the transaction: the head on disk follows the appends in their order.
      const head = { seq: record.seq, hash: record.hash, signature: sign(null, headMessage(record.seq, record.hash), this.key.privateKey).toString('base64') };
      writeNew(this.headFile, `${JSON.stringify(head)}\n`, 0o644);
      options.onHead?.(head);
      return record;
    });
  }

  /** The public key an auditor verifies exports with (SPKI PEM). */
  get publicKeyPem(): string {
    return this.key.publicPem;
  }

  /** The head as anchored beside the database; undefined before the first append. */
  head(): ChainHead | undefined {
    try {
      return JSON.parse(readFileSync(this.headFile, 'utf8')) as ChainHead;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return { seq: -1, hash: '', signature: '' }; // unreadable: verification reports it
    }
  }

  append(event: AuditEvent): AuditRecord {
    return this.appendTx.immediate(event, new Date().toISOString());
  }

  /** Newest first. */
  query(filter: AuditFilter = {}): AuditRecord[] {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: Math.min(Math.max(filter.limit ?? 100, 1), 1000) };
    if (filter.actor) (where.push('actor = @actor'), (params.actor = filter.actor));
    if (filter.action?.endsWith('.')) (where.push('substr(action, 1, length(@action)) = @action'), (params.action = filter.action));
    else if (filter.action) (where.push('action = @action'), (params.action = filter.action));
    if (filter.since) (where.push('at >= @since'), (params.since = filter.since));
    if (filter.until) (where.push('at < @until'), (params.until = filter.until));
    if (filter.target) (where.push('target = @target'), (params.target = filter.target));
    if (filter.before) (where.push('seq < @before'), (params.before = filter.before));
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as Row[]).map(fromRow);
  }

  /** Every record, oldest first, one at a time (export and verification of long trails). */
  *all(): Generator<AuditRecord> {
    for (const row of this.db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as Iterable<Row>) yield fromRow(row);
  }

  /** Chain, signatures and head: anything but an untouched trail names the first broken record. */
  verify(): ChainCheck {
    return verifyRecords(this.all(), this.key.publicKey, this.head() ?? null);
  }

  close(): void {
    this.db.close();
  }
}

type Row = { seq: number; at: string; actor: string; actor_identity: string; source_ip: string; action: string; target: string; details: string | null; prev_hash: string; hash: string; signature: string };

function fromRow(r: Row): AuditRecord {
  return {
    seq: r.seq, at: r.at, actor: r.actor, actorIdentity: r.actor_identity, sourceIp: r.source_ip,
    action: r.action as AuditRecord['action'], target: r.target,
    ...(r.details === null ? {} : { details: JSON.parse(r.details) as Record<string, unknown> }),
    prevHash: r.prev_hash, hash: r.hash, signature: r.signature,
  };
}

function headMessage(seq: number, hash: string): Buffer {
  return Buffer.from(`campaign-guard-audit-head\n${seq}\n${hash}`);
}

/**
 * Verify records (oldest first) with only the public key: consecutive seq from 1, each linked to
 * the previous hash, each hash recomputed, each signature valid; and, given the signed head (null:
 * the trail must be empty), that the last record is the head. This is what an auditor runs on an
 * export (`campaign-guard audit verify --export FILE --public-key FILE --head FILE`).
 */
export function verifyRecords(records: Iterable<AuditRecord>, publicKey: KeyObject, head: ChainHead | null): ChainCheck {
  let prevHash = GENESIS;
  let expectedSeq = 1;
  let count = 0;
  for (const record of records) {
    const broken = (reason: string): ChainCheck => ({ ok: false, count, brokenAt: record.seq, reason });
    if (record.seq !== expectedSeq) return broken(`sequence jumps from ${expectedSeq - 1} to ${record.seq} (records removed or reordered)`);
    if (record.prevHash !== prevHash) return broken('does not link to the previous record');
    if (hashRecord(record) !== record.hash) return broken('content does not match its hash (record edited)');
    if (!validSignature(Buffer.from(record.hash), record.signature, publicKey)) return broken('signature does not verify (record forged or re-hashed without the key)');
    prevHash = record.hash;
    expectedSeq++;
    count++;
  }
  const newest = count ? { seq: count, hash: prevHash } : undefined;
  if (!head) return newest ? { ok: false, count, brokenAt: newest.seq, reason: 'no signed head beside the database: cannot tell whether newest records were removed' } : { ok: true, count };
  if (!validSignature(headMessage(head.seq, head.hash), head.signature, publicKey)) return { ok: false, count, brokenAt: head.seq, reason: 'the signed head does not verify' };
  if (!newest || head.seq > newest.seq) return { ok: false, count, brokenAt: (newest?.seq ?? 0) + 1, reason: `the head says ${head.seq} records, the trail ends at ${newest?.seq ?? 0}: the newest records were removed` };
  if (head.seq < newest.seq || head.hash !== newest.hash) return { ok: false, count, brokenAt: head.seq, reason: 'the trail does not end at the signed head' };
  return { ok: true, count };
}

function validSignature(message: Buffer, signature: string, publicKey: KeyObject): boolean {
  try {
    return verifySignature(null, message, publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** SHA-256 over a canonical JSON array of the fields (fixed order, details with sorted keys). */
export function hashRecord(r: Omit<AuditRecord, 'hash' | 'signature'>): string {
  const canonical = JSON.stringify([r.seq, r.at, r.actor, r.actorIdentity, r.sourceIp, r.action, r.target, sortKeys(r.details ?? null), r.prevHash]);
  return createHash('sha256').update(canonical).digest('hex');
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}
