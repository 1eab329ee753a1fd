/**
 * The ingest journal (SQLite, WAL): every planned change is written before it is applied and
 * marked applied afterwards, in batched transactions. After a crash, `pending()` lists what was
 * planned but not confirmed; the engine re-checks each against the file (same inode?) and finishes
 * or skips it, so nothing is lost or applied twice. Losing this file loses history, never data:
 * the files themselves carry the ownership, and `verify` recomputes it from policy.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Ownership } from '../../core/embargo/policy.js';

export type ChangeKind = 'ingest' | 'quarantine' | 'embargo-lift' | 're-embargo' | 'directory';

export interface PlannedChange {
  path: string;
  dev: number;
  ino: number;
  campaign?: string;
  kind: ChangeKind;
  before: Ownership;
  target: Ownership;
  reason: string;
  /** the file's mtime when it was looked at (not journaled): arrival, for the latency metric */
  arrivedMs?: number;
}

export interface JournalRow extends PlannedChange {
  id: number;
  run: number;
  state: 'planned' | 'applied' | 'skipped';
}

export class Journal {
  private readonly db: Database.Database;
  private readonly insertRow: Database.Statement;
  private readonly insertRows: (batch: PlannedChange[], at: string) => number[];
  private readonly applyRange: Database.Statement;
  private readonly skipOne: Database.Statement;
  /** asked per file by rolling release: prepared once, on first use */
  private ingestedStmt: Database.Statement | undefined;
  readonly run: number;

  constructor(readonly file: string, command: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, command TEXT NOT NULL, started TEXT NOT NULL, finished TEXT);
      CREATE TABLE IF NOT EXISTS changes (
        id INTEGER PRIMARY KEY, run INTEGER NOT NULL, path TEXT NOT NULL, dev INTEGER NOT NULL, ino INTEGER NOT NULL,
        campaign TEXT, kind TEXT NOT NULL, reason TEXT NOT NULL,
        before_uid INTEGER NOT NULL, before_gid INTEGER NOT NULL, before_mode INTEGER NOT NULL,
        uid INTEGER NOT NULL, gid INTEGER NOT NULL, mode INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('planned', 'applied', 'skipped')), planned_at TEXT NOT NULL, done_at TEXT);
      CREATE INDEX IF NOT EXISTS changes_pending ON changes(state) WHERE state = 'planned';
      CREATE INDEX IF NOT EXISTS changes_inode ON changes(dev, ino);
      CREATE TABLE IF NOT EXISTS notices (campaign TEXT NOT NULL, embargo_end TEXT NOT NULL, sent_at TEXT NOT NULL, PRIMARY KEY (campaign, embargo_end));
      CREATE TABLE IF NOT EXISTS passes (id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('incremental', 'full')), started_ms INTEGER NOT NULL, finished_ms INTEGER);
      CREATE TABLE IF NOT EXISTS digests (name TEXT PRIMARY KEY, last_id INTEGER NOT NULL, sent_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS retries (path TEXT PRIMARY KEY, due_ms INTEGER NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL);
    `);
    this.insertRow = this.db.prepare(`INSERT INTO changes (run, planned_at, state, path, dev, ino, campaign, kind, reason, before_uid, before_gid, before_mode, uid, gid, mode)
      VALUES (?, ?, 'planned', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insertRows = this.db.transaction((batch: PlannedChange[], at: string): number[] => {
      const ids = new Array<number>(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const c = batch[i]!;
        ids[i] = Number(this.insertRow.run(this.run, at, c.path, c.dev, c.ino, c.campaign ?? null, c.kind, c.reason, c.before.uid, c.before.gid, c.before.mode, c.target.uid, c.target.gid, c.target.mode).lastInsertRowid);
      }
      return ids;
    });
    this.applyRange = this.db.prepare(`UPDATE changes SET state = 'applied', done_at = ? WHERE id BETWEEN ? AND ? AND state = 'planned'`);
    this.skipOne = this.db.prepare(`UPDATE changes SET state = 'skipped', done_at = ?, reason = coalesce(?, reason) WHERE id = ? AND state = 'planned'`);
    this.run = Number(this.db.prepare('INSERT INTO runs (command, started) VALUES (?, ?)').run(command, new Date().toISOString()).lastInsertRowid);
  }

  /**
   * Record a batch as planned, in one transaction; returns the row ids, in order. One prepared
   * insert per row: cheaper than building and parsing a JSON array of the batch (measured).
   */
  plan(batch: PlannedChange[]): number[] {
    if (!batch.length) return [];
    return this.insertRows(batch, new Date().toISOString());
  }

  /** Mark rows applied or skipped (with the reason); consecutive applied ids are confirmed with one range update. */
  finish(done: { id: number; state: 'applied' | 'skipped'; reason?: string }[]): void {
    const at = new Date().toISOString();
    this.db.transaction(() => {
      let i = 0;
      while (i < done.length) {
        const d = done[i]!;
        if (d.state === 'applied') {
          let j = i;
          while (j + 1 < done.length && done[j + 1]!.state === 'applied' && done[j + 1]!.id === done[j]!.id + 1) j++;
          this.applyRange.run(at, d.id, done[j]!.id);
          i = j + 1;
        } else {
          this.skipOne.run(at, d.reason ?? null, d.id);
          i++;
        }
      }
    })();
  }

  /** Changes of these kinds planned by an earlier run that never confirmed them (a crash), oldest first. */
  pending(kinds: ChangeKind[]): JournalRow[] {
    const rows = this.db.prepare(`SELECT * FROM changes WHERE state = 'planned' AND run < ? AND kind IN (SELECT value FROM json_each(?)) ORDER BY id`).all(this.run, JSON.stringify(kinds)) as Row[];
    return rows.map(fromRow);
  }

  /**
   * When this file (same path, device and inode) was first ingested as data of `campaign`: the
   * earliest applied 'ingest' change. The rolling-release fallback when a file has no DATE-OBS;
   * undefined when never journaled (e.g. it already had the right mode when first seen).
   */
  ingestedAt(path: string, dev: number, ino: number, campaign: string): Date | undefined {
    this.ingestedStmt ??= this.db.prepare(`SELECT min(done_at) AS at FROM changes WHERE dev = ? AND ino = ? AND path = ? AND campaign = ? AND kind = 'ingest' AND state = 'applied'`);
    const row = this.ingestedStmt.get(dev, ino, path, campaign) as { at: string | null } | undefined;
    if (!row?.at) return undefined;
    const d = new Date(row.at);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }

  /** All journal rows of one path (a scan: for operators and tests, not the hot path). */
  history(path: string): JournalRow[] {
    return (this.db.prepare('SELECT * FROM changes WHERE path = ? ORDER BY id').all(path) as Row[]).map(fromRow);
  }

  counts(): Record<string, number> {
    const rows = this.db.prepare('SELECT state, count(*) AS n FROM changes GROUP BY state').all() as { state: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  noticeSent(campaign: string, embargoEnd: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM notices WHERE campaign = ? AND embargo_end = ?').get(campaign, embargoEnd);
  }

  recordNotice(campaign: string, embargoEnd: string): void {
    this.db.prepare('INSERT OR IGNORE INTO notices (campaign, embargo_end, sent_at) VALUES (?, ?, ?)').run(campaign, embargoEnd, new Date().toISOString());
  }

  /** Quarantines applied since the last digest (oldest first, at most `limit`), and how many there are in all. */
  quarantinesSinceDigest(limit = 200): { rows: JournalRow[]; total: number; lastId: number } {
    const after = (this.db.prepare("SELECT last_id FROM digests WHERE name = 'quarantine'").get() as { last_id: number } | undefined)?.last_id ?? 0;
    const where = "kind = 'quarantine' AND state = 'applied' AND id > ?";
    const total = (this.db.prepare(`SELECT count(*) AS n, max(id) AS last FROM changes WHERE ${where}`).get(after) as { n: number; last: number | null });
    const rows = (this.db.prepare(`SELECT * FROM changes WHERE ${where} ORDER BY id LIMIT ?`).all(after, limit) as Row[]).map(fromRow);
    return { rows, total: total.n, lastId: total.last ?? after };
  }

  digestSent(lastId: number): void {
    this.db.prepare("INSERT INTO digests (name, last_id, sent_at) VALUES ('quarantine', ?, ?) ON CONFLICT(name) DO UPDATE SET last_id = excluded.last_id, sent_at = excluded.sent_at").run(lastId, new Date().toISOString());
  }

  /** Per campaign and kind of applied change: how many, the last time, and the runs that made them (the compliance report). */
  appliedByCampaign(kinds: ChangeKind[]): { campaign: string; kind: ChangeKind; files: number; last: string; runs: number[] }[] {
    const rows = this.db.prepare(`SELECT campaign, kind, count(*) AS files, max(done_at) AS last, group_concat(DISTINCT run) AS runs FROM changes
      WHERE state = 'applied' AND campaign IS NOT NULL AND kind IN (SELECT value FROM json_each(?)) GROUP BY campaign, kind ORDER BY campaign, kind`).all(JSON.stringify(kinds)) as
      { campaign: string; kind: ChangeKind; files: number; last: string; runs: string }[];
    return rows.map((r) => ({ ...r, runs: r.runs.split(',').map(Number).sort((a, b) => a - b) }));
  }

  /** Start a reconciliation pass; returns its id for passFinished(). */
  passStarted(kind: 'incremental' | 'full', startedMs: number): number {
    return Number(this.db.prepare('INSERT INTO passes (kind, started_ms) VALUES (?, ?)').run(kind, startedMs).lastInsertRowid);
  }

  passFinished(id: number, finishedMs: number): void {
    this.db.prepare('UPDATE passes SET finished_ms = ? WHERE id = ?').run(finishedMs, id);
  }

  /** When the last pass that finished began (any kind): everything changed before then has been seen. */
  lastCompletedPassStart(): number | undefined {
    const row = this.db.prepare('SELECT max(started_ms) AS t FROM passes WHERE finished_ms IS NOT NULL').get() as { t: number | null };
    return row.t ?? undefined;
  }

  /** Queue paths for another try after `delayMs` (the delay grows with the attempts, up to maxDelayMs). */
  retryLater(paths: string[], error: string, nowMs: number, baseDelayMs = 1000, maxDelayMs = 300_000): void {
    const get = this.db.prepare('SELECT attempts FROM retries WHERE path = ?');
    const put = this.db.prepare('INSERT OR REPLACE INTO retries (path, due_ms, attempts, last_error) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const path of paths) {
        const attempts = ((get.get(path) as { attempts: number } | undefined)?.attempts ?? 0) + 1;
        put.run(path, nowMs + Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(attempts - 1, 20)), attempts, error.slice(0, 500));
      }
    })();
  }

  /** Paths whose retry is due. */
  dueRetries(nowMs: number, limit = 10_000): string[] {
    return (this.db.prepare('SELECT path FROM retries WHERE due_ms <= ? ORDER BY due_ms LIMIT ?').all(nowMs, limit) as { path: string }[]).map((r) => r.path);
  }

  retried(paths: string[]): void {
    const del = this.db.prepare('DELETE FROM retries WHERE path = ?');
    this.db.transaction(() => {
      for (const p of paths) del.run(p);
    })();
  }

  close(): void {
    this.db.prepare('UPDATE runs SET finished = ? WHERE id = ?').run(new Date().toISOString(), this.run);
    this.db.close();
  }
}

type Row = { id: number; run: number; path: string; dev: number; ino: number; campaign: string | null; kind: ChangeKind; reason: string; before_uid: number; before_gid: number; before_mode: number; uid: number; gid: number; mode: number; state: JournalRow['state'] };

function fromRow(r: Row): JournalRow {
  return {
    id: r.id, run: r.run, path: r.path, dev: r.dev, ino: r.ino, kind: r.kind, reason: r.reason, state: r.state,
    ...(r.campaign ? { campaign: r.campaign } : {}),
    before: { uid: r.before_uid, gid: r.before_gid, mode: r.before_mode },
    target: { uid: r.uid, gid: r.gid, mode: r.mode },
  };
}
