/**
 * The portal's node-local SQLite files (sessions, mail confirmations, embargo extension requests,
 * compliance reports): WAL, so pages read while another request writes, and a writer waits up to
 * 5 s for another instead of failing at once. The audit trail opens its own (it adds triggers).
 */
import Database from 'better-sqlite3';

export function openLocalDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  return db;
}
