/**
 * Test support for the ingest journal: read when a file's ingest was journaled, and move it into
 * the past (rolling release counts a file without DATE-OBS from its journaled ingest). Backdating
 * rewrites the one entry, never its batch neighbours: a batch's settled entries carry their own
 * time in its outcome (mapper-agent/ingest/journal.ts).
 */
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeBatch } from '../../mapper-agent/ingest/batch-format.js';
import { Journal } from '../../mapper-agent/ingest/journal.js';

/** When the journal says this file (as it is now on disk) was first ingested as data of `campaign`. */
export function journaledIngest(journalFile: string, path: string, campaign: string): Date | undefined {
  const st = statSync(path);
  const journal = new Journal(journalFile, 'test: read');
  try {
    return journal.ingestedAt(path, st.dev, st.ino, campaign);
  } finally {
    journal.close();
  }
}

/** Set the time of every applied ingest of `path` in the journal to `at`. */
export function backdateIngest(journalFile: string, path: string, at: Date): void {
  const db = new Database(journalFile);
  try {
    db.prepare(`UPDATE changes SET done_at = ? WHERE path = ? AND kind = 'ingest' AND state = 'applied'`).run(at.toISOString(), path);
    const batches = db.prepare('SELECT b.id, b.changes, b.outcome FROM batch_dirs d JOIN batches b ON b.id = d.batch WHERE d.dir = ? AND b.done_at IS NOT NULL').all(dirname(path)) as { id: number; changes: string; outcome: string | null }[];
    for (const b of batches) {
      const outcome = (b.outcome ? JSON.parse(b.outcome) : {}) as Record<string, [string, string | null, string]>;
      let changed = false;
      decodeBatch(b.changes).forEach((e, i) => {
        if (e.change.path !== path || e.change.kind !== 'ingest' || (outcome[i] && outcome[i]![0] !== 'applied')) return;
        outcome[i] = ['applied', null, at.toISOString()];
        changed = true;
      });
      if (changed) db.prepare('UPDATE batches SET outcome = ? WHERE id = ?').run(JSON.stringify(outcome), b.id);
    }
  } finally {
    db.close();
  }
}
