/**
 * express-session store on SQLite (better-sqlite3, WAL): sessions survive a portal restart and
 * are shared by workers on one host. Expired sessions are ignored on read and pruned periodically.
 * (The npm packages for this are unmaintained; the store interface is small.)
 */
import type Database from 'better-sqlite3';
import { openLocalDatabase } from './local-database.js';
import session from 'express-session';

export class SqliteSessionStore extends session.Store {
  private readonly db: Database.Database;
  private readonly timer: NodeJS.Timeout;

  constructor(file: string, private readonly defaultTtlMs = 8 * 3600_000, pruneEveryMs = 15 * 60_000) {
    super();
    this.db = openLocalDatabase(file);
    this.db.exec('CREATE TABLE IF NOT EXISTS sessions (sid TEXT PRIMARY KEY, expires INTEGER NOT NULL, data TEXT NOT NULL)');
    this.timer = setInterval(() => this.prune(), pruneEveryMs).unref();
  }

  override get(sid: string, cb: (err: unknown, session?: session.SessionData | null) => void): void {
    this.run(cb, () => {
      const row = this.db.prepare('SELECT data, expires FROM sessions WHERE sid = ?').get(sid) as { data: string; expires: number } | undefined;
      return row && row.expires > Date.now() ? (JSON.parse(row.data) as session.SessionData) : null;
    });
  }

  override set(sid: string, data: session.SessionData, cb?: (err?: unknown) => void): void {
    this.run(cb, () => {
      this.db.prepare('INSERT INTO sessions (sid, expires, data) VALUES (?, ?, ?) ON CONFLICT(sid) DO UPDATE SET expires = excluded.expires, data = excluded.data')
        .run(sid, this.expiry(data), JSON.stringify(data));
    });
  }

  override touch(sid: string, data: session.SessionData, cb?: (err?: unknown) => void): void {
    this.run(cb, () => void this.db.prepare('UPDATE sessions SET expires = ? WHERE sid = ?').run(this.expiry(data), sid));
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.run(cb, () => void this.db.prepare('DELETE FROM sessions WHERE sid = ?').run(sid));
  }

  /** Remove expired sessions; returns how many. */
  prune(now = Date.now()): number {
    return this.db.prepare('DELETE FROM sessions WHERE expires <= ?').run(now).changes;
  }

  close(): void {
    clearInterval(this.timer);
    this.db.close();
  }

  private expiry(data: session.SessionData): number {
    const expires = data.cookie?.expires;
    return expires ? new Date(expires).getTime() : Date.now() + this.defaultTtlMs;
  }

  private run<T>(cb: ((err: unknown, value?: T) => void) | undefined, fn: () => T): void {
    let value: T;
    try {
      value = fn();
    } catch (err) {
      cb?.(err);
      return;
    }
    cb?.(null, value);
  }
}
