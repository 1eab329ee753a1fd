/** The sync status file (<stateDir>/sync-status.json): what `mapper-agent status` shows. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readCurrent, writeFileAtomically } from './map/atomic-write.js';

export interface SyncStatus {
  lastAttempt?: string;
  lastSuccess?: string;
  lastError?: string;
  lastErrorAt?: string;
  lines?: number;
  durationMs?: number;
  contextCsn?: string;
  skipped?: Record<string, number>;
  consecutiveFailures: number;
}

export function statusPath(stateDir: string): string {
  return join(stateDir, 'sync-status.json');
}

export function readStatus(stateDir: string): SyncStatus {
  const text = readCurrent(statusPath(stateDir));
  if (!text) return { consecutiveFailures: 0 };
  try {
    return JSON.parse(text) as SyncStatus;
  } catch {
    return { consecutiveFailures: 0, lastError: `unreadable status file ${statusPath(stateDir)}` };
  }
}

export function writeStatus(stateDir: string, status: SyncStatus): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileAtomically(statusPath(stateDir), `${JSON.stringify(status, null, 2)}\n`, { force: true, ownership: { mode: 0o644 } });
}
