/**
 * The ingest journal (SQLite, WAL): every planned change is written before it is applied and
 * confirmed afterwards. After a crash, `pending()` lists what was planned but not confirmed; the
 * engine re-checks each against the file (same inode?) and finishes or skips it, so nothing is
 * lost or applied twice. Losing this file loses history, never data: the files themselves carry
 * the ownership, and `verify` recomputes it from policy.
 *
 * A batch of changes is one row (`batches`): its changes as one JSON document (batch-format.ts),
 * confirmed with one update when applied; entries that were skipped, or settled one by one on
 * resume, are listed in its `outcome`. Per-file rows cost several microseconds each (a B-tree
 * insert per index, the row rewritten on confirmation): more than the file's own system calls.
 * Small side tables keep the readers cheap: `batch_dirs` (which batches have files in a
 * directory: history and the rolling-release ingest time) and `batch_counts` (applied changes per
 * campaign and kind: the compliance history and the quarantine digest). Journals written by
 * earlier versions keep their per-file rows (`changes`); every reader reads both.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Ownership } from '../../core/embargo/policy.js';
import { decodeBatch, encodeBatch, placeOf, type BatchEntry } from './batch-format.js';
import { encodeSeals, type Seal, type SealedFile } from './seal.js';

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

/** Where a change is journaled: a per-file row of an earlier version's journal, or an entry of a batch. */
export type EntryId = { row: number } | { batch: number; index: number };

export interface JournalRow extends PlannedChange {
  id: EntryId;
  run: number;
  state: 'planned' | 'applied' | 'skipped';
}

/** How far the quarantine digest has read: the last per-file row and the last batch it included. */
export interface DigestCursor {
  row: number;
  batch: number;
}

/** An entry's confirmation: applied (with the file's header seal, when there is one: seal.ts), or skipped with the reason. */
export type Settled = { id: EntryId; state: 'applied' | 'skipped'; reason?: string; seal?: Seal };
/** A batch's entries settled one by one: index -> [state, skip reason or null, time] */
type Outcome = Record<string, ['applied' | 'skipped', string | null, string]>;
type BatchRow = { id: number; run: number; planned_at: string; done_at: string | null; files: number; changes: string; outcome: string | null };

export class Journal {
  private readonly db: Database.Database;
  private readonly writeBatch: (changes: PlannedChange[], at: string, first?: OwnConfirmation) => number;
  private readonly confirmBatch: (batch: number, done: Settled[], at: string) => void;
  /** the changes of batches this connection planned and has not confirmed yet (confirmation needs no read then) */
  private readonly planned = new Map<number, PlannedChange[]>();
  /** the last directory whose batches were decoded for ingestedAt (a directory's files are asked one after another) */
  private ingestIndex: { dir: string; lastBatch: number; files: Map<string, { dev: number; ino: number; campaign?: string; at: string }[]> } | undefined;
  private legacyIngestedStmt: Database.Statement | undefined;
  /** the newest batch with files in a directory, and a directory's batches (optionally only those mentioning a name): prepared once, on first use */
  private lastBatchStmt: Database.Statement | undefined;
  private dirBatchesStmt: Database.Statement | undefined;
  private dirSealsStmt: Database.Statement | undefined;
  private pruneStmts: { drop: Database.Statement; rewrite: Database.Statement } | undefined;
  readonly run: number;

  constructor(readonly file: string, command: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    // Opened by several at once (the pool's workers, a command and the daemon), a new file's switch to WAL and its
    // tables can meet SQLITE_BUSY at once, without SQLite's busy handler (two connections each wanting to write
    // what both read): each step is idempotent, so it is tried again.
    whileBusy(() => this.db.pragma('journal_mode = WAL'));
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    // Checkpoint (copy the WAL into the database) every ~40 MB of WAL instead of SQLite's 4 MB: the
    // pages every batch rewrites (the tables' last leaves and their parents) are copied once per
    // checkpoint, not once per 4 MB, and the checkpoint's fsyncs come a tenth as often. Journal
    // writes measured 15-25% faster (2,000 batches planned and confirmed). The WAL is cut back to
    // 64 MB after a checkpoint.
    this.db.pragma('wal_autocheckpoint = 10000');
    this.db.pragma('journal_size_limit = 67108864');
    whileBusy(() => this.db.exec(`
      CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, command TEXT NOT NULL, started TEXT NOT NULL, finished TEXT);
      -- per-file rows: written by earlier versions, read by this one
      CREATE TABLE IF NOT EXISTS changes (
        id INTEGER PRIMARY KEY, run INTEGER NOT NULL, path TEXT NOT NULL, dev INTEGER NOT NULL, ino INTEGER NOT NULL,
        campaign TEXT, kind TEXT NOT NULL, reason TEXT NOT NULL,
        before_uid INTEGER NOT NULL, before_gid INTEGER NOT NULL, before_mode INTEGER NOT NULL,
        uid INTEGER NOT NULL, gid INTEGER NOT NULL, mode INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('planned', 'applied', 'skipped')), planned_at TEXT NOT NULL, done_at TEXT);
      CREATE INDEX IF NOT EXISTS changes_pending ON changes(state) WHERE state = 'planned';
      CREATE INDEX IF NOT EXISTS changes_inode ON changes(dev, ino);
      CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY, run INTEGER NOT NULL, planned_at TEXT NOT NULL, done_at TEXT,
        files INTEGER NOT NULL, changes TEXT NOT NULL, outcome TEXT);
      CREATE INDEX IF NOT EXISTS batches_open ON batches(run) WHERE done_at IS NULL;
      CREATE TABLE IF NOT EXISTS batch_dirs (dir TEXT NOT NULL, batch INTEGER NOT NULL, PRIMARY KEY (dir, batch)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS batch_counts (batch INTEGER NOT NULL, run INTEGER NOT NULL, campaign TEXT, kind TEXT NOT NULL, files INTEGER NOT NULL, at TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS batch_counts_kind ON batch_counts(kind, batch);
      CREATE TABLE IF NOT EXISTS notices (campaign TEXT NOT NULL, embargo_end TEXT NOT NULL, sent_at TEXT NOT NULL, PRIMARY KEY (campaign, embargo_end));
      CREATE TABLE IF NOT EXISTS passes (id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('incremental', 'full')), started_ms INTEGER NOT NULL, finished_ms INTEGER);
      CREATE TABLE IF NOT EXISTS digests (name TEXT PRIMARY KEY, last_id INTEGER NOT NULL, sent_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS retries (path TEXT PRIMARY KEY, due_ms INTEGER NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL);
    `));
    // A batch's header seals (seal.ts) in a table of their own: pruning one (seal.ts: spent or
    // superseded) deletes or rewrites that document alone, not the batch's row with its changes.
    whileBusy(() => this.db.exec('CREATE TABLE IF NOT EXISTS batch_seals (batch INTEGER PRIMARY KEY, seals TEXT NOT NULL)'));
    whileBusy(() => this.moveSealColumn());
    const insertBatch = this.db.prepare('INSERT INTO batches (run, planned_at, files, changes) VALUES (?, ?, ?, ?)');
    const insertDir = this.db.prepare('INSERT OR IGNORE INTO batch_dirs (dir, batch) VALUES (?, ?)');
    const readBatch = this.db.prepare('SELECT * FROM batches WHERE id = ?');
    const closeBatch = this.db.prepare('UPDATE batches SET done_at = ?, outcome = ? WHERE id = ? AND done_at IS NULL');
    const insertSeals = this.db.prepare('INSERT OR REPLACE INTO batch_seals (batch, seals) VALUES (?, ?)');
    const growOutcome = this.db.prepare('UPDATE batches SET outcome = ? WHERE id = ? AND done_at IS NULL');
    const count = this.db.prepare('INSERT INTO batch_counts (batch, run, campaign, kind, files, at) VALUES (?, ?, ?, ?, ?, ?)');
    /** Write a settlement: counted only when the batch was still open (never twice, whoever settled it first). */
    const record = (batch: number, run: number, s: Settlement, at: string) => {
      this.ingestIndex = undefined; // built before this confirmation: its entries were not applied yet
      const open = s.closes ? closeBatch.run(at, s.outcome, batch) : growOutcome.run(s.outcome, batch);
      if (!open.changes) return;
      for (const a of s.applied) count.run(batch, run, a.campaign, a.kind, a.files, at);
      if (s.seals) insertSeals.run(batch, s.seals);
    };
    const recordOwn = (c: OwnConfirmation) => record(c.batch, this.run, c.settlement, c.at);
    // Every write transaction is immediate and holds SQLite's write lock only for its statements:
    // documents are encoded before it begins. The pool's workers share this file; one that finds the
    // lock taken sleeps at least a millisecond (SQLite's busy handler), so a short hold is fewer sleeps.
    const writeBatch = this.db.transaction((changes: number, json: string, dirs: string[], at: string, first?: OwnConfirmation): number => {
      if (first) recordOwn(first);
      const id = Number(insertBatch.run(this.run, at, changes, json).lastInsertRowid);
      for (const d of dirs) insertDir.run(d, id);
      return id;
    }).immediate;
    this.writeBatch = (changes, at, first) => {
      const { json, dirs } = encodeBatch(changes);
      return writeBatch(changes.length, json, dirs, at, first);
    };
    const confirmOwn = this.db.transaction(recordOwn).immediate;
    // A batch planned elsewhere (resume) is read first: immediate, so no other writer comes in between.
    const confirmRead = this.db.transaction((batch: number, done: Settled[], at: string) => {
      const row = readBatch.get(batch) as BatchRow | undefined;
      if (!row) throw new Error(`journal: batch ${batch} does not exist`);
      if (row.done_at !== null) return; // settled already: never twice
      const changes = decodeBatch(row.changes).map((e) => e.change);
      record(batch, row.run, settle(changes, row.outcome ? (JSON.parse(row.outcome) as Outcome) : {}, done, at), at);
    }).immediate;
    this.confirmBatch = (batch, done, at) => {
      const own = this.ownConfirmation(done, at);
      if (own) confirmOwn(own);
      else confirmRead(batch, done, at);
    };
    this.run = Number(this.db.prepare('INSERT INTO runs (command, started) VALUES (?, ?)').run(command, new Date().toISOString()).lastInsertRowid);
  }

  /**
   * Record a batch as planned, in one transaction (one row); returns the entries' ids, in order.
   * `confirmFirst`: the previous batch's confirmations, settled at `confirmedAt` (as finish() would
   * record them), written in the same transaction when that batch was planned here: one commit a
   * batch instead of two.
   */
  plan(batch: PlannedChange[], confirmFirst: Settled[] = [], confirmedAt = new Date().toISOString()): EntryId[] {
    if (!batch.length) {
      if (confirmFirst.length) this.finish(confirmFirst, confirmedAt);
      return [];
    }
    const first = this.ownConfirmation(confirmFirst, confirmedAt);
    if (!first && confirmFirst.length) this.finish(confirmFirst, confirmedAt);
    let id: number;
    try {
      id = this.writeBatch(batch, new Date().toISOString(), first);
    } finally {
      if (first) this.planned.delete(first.batch); // confirmed, or left for resume to read back from the file
    }
    this.planned.set(id, batch);
    return batch.map((_, index) => ({ batch: id, index }));
  }

  /** Confirmations of one batch this connection planned, settled (outside any transaction); else undefined. */
  private ownConfirmation(done: Settled[], at: string): OwnConfirmation | undefined {
    const batch = done.length && 'batch' in done[0]!.id ? done[0]!.id.batch : undefined;
    const mine = batch === undefined ? undefined : this.planned.get(batch);
    if (!mine || !done.every((d) => 'batch' in d.id && d.id.batch === batch)) return undefined;
    return { batch: batch!, settlement: settle(mine, {}, done, at), at };
  }

  /**
   * Mark entries applied or skipped (with the reason). A batch confirmed whole (the engine's case)
   * costs one update; skipped entries and entries settled one by one (resume) are kept in its outcome.
   */
  finish(done: Settled[], at = new Date().toISOString()): void {
    const byBatch = new Map<number, Settled[]>();
    const rows: Settled[] = [];
    for (const d of done) {
      if ('row' in d.id) rows.push(d);
      else (byBatch.get(d.id.batch) ?? byBatch.set(d.id.batch, []).get(d.id.batch)!).push(d);
    }
    for (const [batch, list] of byBatch) {
      try {
        this.confirmBatch(batch, list, at);
      } finally {
        this.planned.delete(batch); // confirmed, or left for resume to read back from the file: never kept here
      }
    }
    if (!rows.length) return;
    const applyOne = this.db.prepare(`UPDATE changes SET state = 'applied', done_at = ? WHERE id = ? AND state = 'planned'`);
    const skipOne = this.db.prepare(`UPDATE changes SET state = 'skipped', done_at = ?, reason = coalesce(?, reason) WHERE id = ? AND state = 'planned'`);
    this.db.transaction(() => {
      for (const d of rows) {
        const id = (d.id as { row: number }).row;
        if (d.state === 'applied') applyOne.run(at, id);
        else skipOne.run(at, d.reason ?? null, id);
      }
    })();
  }

  /** Changes of these kinds planned by an earlier run that never confirmed them (a crash), oldest first. */
  pending(kinds: ChangeKind[]): JournalRow[] {
    const wanted = new Set<string>(kinds);
    const legacy = (this.db.prepare(`SELECT * FROM changes WHERE state = 'planned' AND run < ? AND kind IN (SELECT value FROM json_each(?)) ORDER BY id`).all(this.run, JSON.stringify(kinds)) as Row[]).map(fromRow);
    // The partial index: without it SQLite scans every batch to keep the order (the journal grows for years).
    const open = this.db.prepare('SELECT * FROM batches INDEXED BY batches_open WHERE done_at IS NULL AND run < ? ORDER BY id').all(this.run) as BatchRow[];
    return [...legacy, ...open.flatMap((b) => batchRows(b).filter((r) => r.state === 'planned' && wanted.has(r.kind)))];
  }

  /**
   * When this file (same path, device and inode) was first ingested as data of `campaign`: the
   * earliest applied 'ingest' change. The rolling-release fallback when a file has no DATE-OBS;
   * undefined when never journaled (e.g. it already had the right mode when first seen).
   */
  ingestedAt(path: string, dev: number, ino: number, campaign: string): Date | undefined {
    this.legacyIngestedStmt ??= this.db.prepare(`SELECT min(done_at) AS at FROM changes WHERE dev = ? AND ino = ? AND path = ? AND campaign = ? AND kind = 'ingest' AND state = 'applied'`);
    const legacy = (this.legacyIngestedStmt.get(dev, ino, path, campaign) as { at: string | null } | undefined)?.at ?? undefined;
    const dir = dirname(path);
    this.lastBatchStmt ??= this.db.prepare('SELECT max(batch) AS b FROM batch_dirs WHERE dir = ?');
    const lastBatch = (this.lastBatchStmt.get(dir) as { b: number | null }).b ?? 0;
    if (this.ingestIndex?.dir !== dir || this.ingestIndex.lastBatch !== lastBatch) this.ingestIndex = { dir, lastBatch, files: this.appliedIngests(dir) };
    let at = legacy;
    for (const e of this.ingestIndex.files.get(basename(path)) ?? []) if (e.dev === dev && e.ino === ino && e.campaign === campaign && (at === undefined || e.at < at)) at = e.at;
    if (!at) return undefined;
    const d = new Date(at);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }

  /** Applied ingest changes of the files in one directory, by name, from its batches. */
  private appliedIngests(dir: string): Map<string, { dev: number; ino: number; campaign?: string; at: string }[]> {
    const files = new Map<string, { dev: number; ino: number; campaign?: string; at: string }[]>();
    for (const b of this.batchesIn(dir)) {
      for (const r of batchRows(b)) {
        if (r.state !== 'applied' || r.change.kind !== 'ingest' || r.dir !== dir) continue;
        const list = files.get(r.name) ?? files.set(r.name, []).get(r.name)!;
        list.push({ dev: r.change.dev, ino: r.change.ino, ...(r.change.campaign ? { campaign: r.change.campaign } : {}), at: r.at! });
      }
    }
    return files;
  }

  /**
   * The seal documents (seal.ts) of the batches with files in one directory, newest first, one at a
   * time: a directory of a million files has thousands, not all needed in memory at once.
   */
  eachSealDoc(dir: string): IterableIterator<{ id: number; seals: string }> {
    this.dirSealsStmt ??= this.db.prepare('SELECT s.batch AS id, s.seals FROM batch_dirs d JOIN batch_seals s ON s.batch = d.batch WHERE d.dir = ? ORDER BY s.batch DESC');
    return this.dirSealsStmt.iterate(dir) as IterableIterator<{ id: number; seals: string }>;
  }

  /** Write back seal documents without the entries that can never count again (DirectorySeals.prunable): later runs read less. */
  pruneSeals(docs: { id: number; seals: string | null }[]): void {
    if (!docs.length) return;
    this.pruneStmts ??= { drop: this.db.prepare('DELETE FROM batch_seals WHERE batch = ?'), rewrite: this.db.prepare('UPDATE batch_seals SET seals = ? WHERE batch = ?') };
    const { drop, rewrite } = this.pruneStmts;
    this.db.transaction(() => {
      for (const d of docs) {
        if (d.seals === null) drop.run(d.id);
        else rewrite.run(d.seals, d.id);
      }
    }).immediate();
  }

  /**
   * Journals of the versions that kept seals in a column of `batches` (`batches.seals`): the
   * documents move to `batch_seals` once, in one transaction (the pool's workers open the file at
   * the same time: the first moves them, the others find it done). The column stays, empty.
   * `user_version` 1 records that it is done: the check on every open reads the file's header only
   * (looking for seals left in the column would read every batch).
   */
  private moveSealColumn(): void {
    const version = () => this.db.pragma('user_version', { simple: true }) as number;
    if (version() >= SEALS_APART) return;
    this.db.transaction(() => {
      if (version() >= SEALS_APART) return;
      if ((this.db.prepare('PRAGMA table_info(batches)').all() as { name: string }[]).some((c) => c.name === 'seals')) {
        this.db.exec('INSERT OR IGNORE INTO batch_seals (batch, seals) SELECT id, seals FROM batches WHERE seals IS NOT NULL');
        this.db.exec('UPDATE batches SET seals = NULL WHERE seals IS NOT NULL');
      }
      this.db.pragma(`user_version = ${SEALS_APART}`);
    }).immediate();
  }

  /** A directory's batches, oldest first; with `name`, only those whose document mentions it (as a JSON string). */
  private batchesIn(dir: string, name?: string): BatchRow[] {
    this.dirBatchesStmt ??= this.db.prepare('SELECT b.* FROM batch_dirs d JOIN batches b ON b.id = d.batch WHERE d.dir = ? AND (? IS NULL OR instr(b.changes, ?) > 0) ORDER BY b.id');
    const mention = name === undefined ? null : JSON.stringify(name);
    return this.dirBatchesStmt.all(dir, mention, mention) as BatchRow[];
  }

  /** All journal entries of one path, oldest first (for operators and tests, not the hot path). */
  history(path: string): JournalRow[] {
    const legacy = (this.db.prepare('SELECT * FROM changes WHERE path = ? ORDER BY id').all(path) as Row[]).map(fromRow);
    // Only the directory's batches that mention the name are decoded.
    return [...legacy, ...this.batchesIn(dirname(path), basename(path)).flatMap((b) => batchRows(b).filter((r) => r.path === path))];
  }

  /** Every entry, oldest first (exports and tests; reads the whole journal). */
  all(): JournalRow[] {
    const legacy = (this.db.prepare('SELECT * FROM changes ORDER BY id').all() as Row[]).map(fromRow);
    return [...legacy, ...(this.db.prepare('SELECT * FROM batches ORDER BY id').all() as BatchRow[]).flatMap(batchRows)];
  }

  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    const add = (state: string, n: number) => n && (out[state] = (out[state] ?? 0) + n);
    for (const r of this.db.prepare('SELECT state, count(*) AS n FROM changes GROUP BY state').all() as { state: string; n: number }[]) add(r.state, r.n);
    add('applied', (this.db.prepare('SELECT coalesce(sum(files), 0) AS n FROM batches WHERE done_at IS NOT NULL AND outcome IS NULL').get() as { n: number }).n);
    for (const b of this.db.prepare('SELECT * FROM batches WHERE done_at IS NULL OR outcome IS NOT NULL').all() as BatchRow[]) {
      for (const r of batchRows(b)) add(r.state, 1);
    }
    return out;
  }

  noticeSent(campaign: string, embargoEnd: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM notices WHERE campaign = ? AND embargo_end = ?').get(campaign, embargoEnd);
  }

  recordNotice(campaign: string, embargoEnd: string): void {
    this.db.prepare('INSERT OR IGNORE INTO notices (campaign, embargo_end, sent_at) VALUES (?, ?, ?)').run(campaign, embargoEnd, new Date().toISOString());
  }

  /** Quarantines applied since the last digest (oldest first, at most `limit`), how many there are in all, and the cursor to store once sent. */
  quarantinesSinceDigest(limit = 200): { rows: JournalRow[]; total: number; lastId: DigestCursor } {
    const cursor = (name: string) => (this.db.prepare('SELECT last_id FROM digests WHERE name = ?').get(name) as { last_id: number } | undefined)?.last_id ?? 0;
    const after: DigestCursor = { row: cursor('quarantine'), batch: cursor('quarantine-batches') };
    const where = "kind = 'quarantine' AND state = 'applied' AND id > ?";
    const legacy = this.db.prepare(`SELECT count(*) AS n, max(id) AS last FROM changes WHERE ${where}`).get(after.row) as { n: number; last: number | null };
    const rows = (this.db.prepare(`SELECT * FROM changes WHERE ${where} ORDER BY id LIMIT ?`).all(after.row, limit) as Row[]).map(fromRow);
    const batched = this.db.prepare("SELECT coalesce(sum(files), 0) AS n, max(batch) AS last FROM batch_counts WHERE kind = 'quarantine' AND batch > ?").get(after.batch) as { n: number; last: number | null };
    if (rows.length < limit && batched.n) {
      const batches = this.db.prepare(`SELECT b.* FROM batches b WHERE b.id IN (SELECT batch FROM batch_counts WHERE kind = 'quarantine' AND batch > ?) ORDER BY b.id`).all(after.batch) as BatchRow[];
      for (const b of batches) {
        for (const r of batchRows(b)) if (rows.length < limit && r.kind === 'quarantine' && r.state === 'applied') rows.push(r);
        if (rows.length >= limit) break;
      }
    }
    return { rows, total: legacy.n + batched.n, lastId: { row: legacy.last ?? after.row, batch: batched.last ?? after.batch } };
  }

  digestSent(lastId: DigestCursor): void {
    const put = this.db.prepare('INSERT INTO digests (name, last_id, sent_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET last_id = excluded.last_id, sent_at = excluded.sent_at');
    const at = new Date().toISOString();
    this.db.transaction(() => {
      put.run('quarantine', lastId.row, at);
      put.run('quarantine-batches', lastId.batch, at);
    })();
  }

  /** Per campaign and kind of applied change: how many, the last time, and the runs that made them (the compliance report). */
  appliedByCampaign(kinds: ChangeKind[]): { campaign: string; kind: ChangeKind; files: number; last: string; runs: number[] }[] {
    const legacy = this.db.prepare(`SELECT campaign, kind, count(*) AS files, max(done_at) AS last, group_concat(DISTINCT run) AS runs FROM changes
      WHERE state = 'applied' AND campaign IS NOT NULL AND kind IN (SELECT value FROM json_each(?)) GROUP BY campaign, kind`).all(JSON.stringify(kinds)) as
      { campaign: string; kind: ChangeKind; files: number; last: string; runs: string }[];
    const batched = this.db.prepare(`SELECT campaign, kind, sum(files) AS files, max(at) AS last, group_concat(DISTINCT run) AS runs FROM batch_counts
      WHERE campaign IS NOT NULL AND kind IN (SELECT value FROM json_each(?)) GROUP BY campaign, kind`).all(JSON.stringify(kinds)) as typeof legacy;
    const merged = new Map<string, { campaign: string; kind: ChangeKind; files: number; last: string; runs: Set<number> }>();
    for (const r of [...legacy, ...batched]) {
      const key = `${r.campaign}\0${r.kind}`;
      const m = merged.get(key) ?? merged.set(key, { campaign: r.campaign, kind: r.kind, files: 0, last: r.last, runs: new Set() }).get(key)!;
      m.files += r.files;
      if (r.last > m.last) m.last = r.last;
      for (const run of r.runs.split(',')) m.runs.add(Number(run));
    }
    return [...merged.values()]
      .sort((a, b) => (a.campaign === b.campaign ? (a.kind < b.kind ? -1 : 1) : a.campaign < b.campaign ? -1 : 1))
      .map((m) => ({ campaign: m.campaign, kind: m.kind, files: m.files, last: m.last, runs: [...m.runs].sort((a, b) => a - b) }));
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

/** The journal's `user_version` once header seals are kept in `batch_seals` alone (moveSealColumn). */
const SEALS_APART = 1;

type Row = { id: number; run: number; path: string; dev: number; ino: number; campaign: string | null; kind: ChangeKind; reason: string; before_uid: number; before_gid: number; before_mode: number; uid: number; gid: number; mode: number; state: JournalRow['state'] };

function fromRow(r: Row): JournalRow {
  return {
    id: { row: r.id }, run: r.run, path: r.path, dev: r.dev, ino: r.ino, kind: r.kind, reason: r.reason, state: r.state,
    ...(r.campaign ? { campaign: r.campaign } : {}),
    before: { uid: r.before_uid, gid: r.before_gid, mode: r.before_mode },
    target: { uid: r.uid, gid: r.gid, mode: r.mode },
  };
}

/** A batch's confirmations settled before the transaction that records them (Journal.plan's confirmFirst). */
interface OwnConfirmation {
  batch: number;
  settlement: Settlement;
  at: string;
}

/** How a batch stands once `done` is settled: its outcome (JSON), whether it closes, the applied changes per campaign and kind, and its seals document. */
interface Settlement {
  outcome: string | null;
  closes: boolean;
  applied: { campaign: string | null; kind: string; files: number }[];
  seals: string | null;
}

/**
 * Settle `done` on a batch's `changes` and what its outcome already says. A batch confirmed whole
 * (the engine's case) needs no outcome, only skipped entries are listed; it closes once every
 * entry is settled (until then, resume settling part of it, only its outcome grows).
 */
function settle(changes: PlannedChange[], outcome: Outcome, done: Settled[], at: string): Settlement {
  const whole = Object.keys(outcome).length === 0 && done.length === changes.length;
  const applied = new Map<string, { campaign: string | null; kind: string; files: number }>();
  // A batch's changes are mostly of one campaign and kind: the last count is reused without making its key again.
  let last: { campaign: string | null; kind: string; files: number } | undefined;
  const seals: SealedFile[] = [];
  for (const d of done) {
    const index = (d.id as { index: number }).index;
    const change = changes[index];
    if (!change || outcome[index]) continue;
    if (d.state === 'skipped' || !whole) outcome[index] = [d.state, d.state === 'skipped' ? (d.reason ?? null) : null, at];
    if (d.state === 'applied') {
      const campaign = change.campaign ?? null;
      if (last?.campaign !== campaign || last.kind !== change.kind) {
        const key = `${campaign ?? ''}\0${change.kind}`;
        last = applied.get(key) ?? applied.set(key, { campaign, kind: change.kind, files: 0 }).get(key)!;
      }
      last.files++;
      if (d.seal) {
        // Not `{ ...placeOf(path), dev, ... }`: a spread followed by new properties costs V8 ~2 µs a file (measured), more than the file's own journaling.
        const { dir, name } = placeOf(change.path);
        seals.push({ dir, name, dev: change.dev, ino: change.ino, seal: d.seal });
      }
    }
  }
  const settled = Object.keys(outcome).length;
  const closes = whole || settled === changes.length;
  return { outcome: settled ? JSON.stringify(outcome) : null, closes, applied: [...applied.values()], seals: closes && seals.length ? encodeSeals(seals) : null };
}

/** A batch's entries with their states (see Outcome) and, once settled, when. */
function batchRows(b: BatchRow): (JournalRow & { change: PlannedChange; dir: string; name: string; at?: string })[] {
  const outcome: Outcome = b.outcome ? JSON.parse(b.outcome) : {};
  return decodeBatch(b.changes).map((e: BatchEntry, index) => {
    const settled = outcome[index];
    const state = settled ? settled[0] : b.done_at !== null ? 'applied' : 'planned';
    const reason = settled?.[0] === 'skipped' && settled[1] !== null ? settled[1] : e.change.reason;
    const at = settled ? settled[2] : (b.done_at ?? undefined);
    return { ...e.change, id: { batch: b.id, index }, run: b.run, state, reason, change: e.change, dir: e.dir, name: e.name, ...(at ? { at } : {}) };
  });
}

/** How long a journal being opened tries again on SQLITE_BUSY (whileBusy) before it gives up with that error. */
const OPEN_BUSY_MS = 10_000;

/** Run `step` (idempotent) again after a short sleep for as long as SQLite answers SQLITE_BUSY (or an extended BUSY code), up to OPEN_BUSY_MS. */
function whileBusy<T>(step: () => T): T {
  const until = Date.now() + OPEN_BUSY_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return step();
    } catch (err) {
      // better-sqlite3 names extended codes (SQLITE_BUSY_SNAPSHOT: a read that had to become a write after another wrote).
      if (!String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY') || Date.now() >= until) throw err;
      // 1-16 ms, jittered: two openers that met once should not meet again at once.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1 + Math.random() * Math.min(15, 2 ** attempt));
    }
  }
}
