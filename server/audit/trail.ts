/**
 * The audit trail: append-only, in SQLite, each record chained to the previous one by a SHA-256
 * hash over a canonical serialisation, so that editing, deleting or reordering records is
 * detectable by verify(). Triggers refuse UPDATE and DELETE; appends from several processes keep
 * one chain because each append runs in a BEGIN IMMEDIATE transaction.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import type { AuditEvent, AuditSink } from '../services/context.js';

export interface AuditRecord extends AuditEvent {
  seq: number;
  /** ISO 8601, UTC, millisecond precision */
  at: string;
  prevHash: string;
  hash: string;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  /** records with seq below this (paging backwards from the newest) */
  before?: number;
  limit?: number;
}

export type ChainCheck = { ok: true; count: number } | { ok: false; count: number; brokenAt: number; reason: string };

const GENESIS = '0'.repeat(64);

export class AuditTrail implements AuditSink {
  private readonly db: Database.Database;
  private readonly appendTx: Database.Transaction<(event: AuditEvent, at: string) => AuditRecord>;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, actor_identity TEXT NOT NULL,
        source_ip TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, details TEXT,
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS audit_actor ON audit(actor);
      CREATE INDEX IF NOT EXISTS audit_action ON audit(action);
      CREATE INDEX IF NOT EXISTS audit_target ON audit(target);
      CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
      CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
    `);
    const last = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    const insert = this.db.prepare(`INSERT INTO audit (seq, at, actor, actor_identity, source_ip, action, target, details, prev_hash, hash)
      VALUES (@seq, @at, @actor, @actorIdentity, @sourceIp, @action, @target, @details, @prevHash, @hash)`);
    this.appendTx = this.db.transaction((event: AuditEvent, at: string) => {
      const prev = last.get() as { seq: number; hash: string } | undefined;
      const record = { ...event, seq: (prev?.seq ?? 0) + 1, at, prevHash: prev?.hash ?? GENESIS } as AuditRecord;
      record.hash = hashRecord(record);
      insert.run({ ...record, details: record.details === undefined ? null : JSON.stringify(record.details) });
      return record;
    });
  }

  append(event: AuditEvent): AuditRecord {
    return this.appendTx.immediate(event, new Date().toISOString());
  }

  /** Newest first. */
  query(filter: AuditFilter = {}): AuditRecord[] {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: Math.min(Math.max(filter.limit ?? 100, 1), 1000) };
    if (filter.actor) (where.push('actor = @actor'), (params.actor = filter.actor));
    if (filter.action) (where.push('action = @action'), (params.action = filter.action));
    if (filter.target) (where.push('target = @target'), (params.target = filter.target));
    if (filter.before) (where.push('seq < @before'), (params.before = filter.before));
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as Row[]).map(fromRow);
  }

  /** Every record, oldest first, one at a time (export and verification of long trails). */
  *all(): Generator<AuditRecord> {
    for (const row of this.db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as Iterable<Row>) yield fromRow(row);
  }

  verify(): ChainCheck {
    let prevHash = GENESIS;
    let expectedSeq = 1;
    let count = 0;
    for (const record of this.all()) {
      const broken = (reason: string): ChainCheck => ({ ok: false, count, brokenAt: record.seq, reason });
      if (record.seq !== expectedSeq) return broken(`sequence jumps from ${expectedSeq - 1} to ${record.seq} (records removed)`);
      if (record.prevHash !== prevHash) return broken('does not link to the previous record');
      if (hashRecord(record) !== record.hash) return broken('content does not match its hash (record edited)');
      prevHash = record.hash;
      expectedSeq++;
      count++;
    }
    return { ok: true, count };
  }

  close(): void {
    this.db.close();
  }
}

type Row = { seq: number; at: string; actor: string; actor_identity: string; source_ip: string; action: string; target: string; details: string | null; prev_hash: string; hash: string };

function fromRow(r: Row): AuditRecord {
  return {
    seq: r.seq, at: r.at, actor: r.actor, actorIdentity: r.actor_identity, sourceIp: r.source_ip,
    action: r.action as AuditRecord['action'], target: r.target,
    ...(r.details === null ? {} : { details: JSON.parse(r.details) as Record<string, unknown> }),
    prevHash: r.prev_hash, hash: r.hash,
  };
}

/** SHA-256 over a canonical JSON array of the fields (fixed order, details with sorted keys). */
export function hashRecord(r: Omit<AuditRecord, 'hash'>): string {
  const canonical = JSON.stringify([r.seq, r.at, r.actor, r.actorIdentity, r.sourceIp, r.action, r.target, sortKeys(r.details ?? null), r.prevHash]);
  return createHash('sha256').update(canonical).digest('hex');
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}
