/**
 * One map sync: note the directory's contextCSN, read the directory, build the outputs, and
 * replace each output file atomically when (and only when) it changed. A failed or partial read
 * throws before anything is written, so the last good map stays in place; a map that shrinks
 * beyond the limit is refused (ShrinkRefusedError) unless forced. A dry run writes nothing and
 * returns the diff of what would change.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import type { LdapConnection } from '../../core/ldap/connection.js';
import { readContextCsn } from '../../core/directory/change-signal.js';
import type { AgentSection } from '../config.js';
import { readDirectory } from './directory-reader.js';
import { buildMap, render, type BuiltMap } from './build.js';
import { checkShrink, countMapLines, fileFacts, readCurrent, replaceFileAtomically, type TextSink } from './atomic-write.js';

export interface SyncOptions {
  dryRun?: boolean;
  force?: boolean;
  now?: Date;
}

export interface OutputResult {
  path: string;
  changed: boolean;
  oldLines: number;
  newLines: number;
  /** dry run: `-`/`+` lines of what would change */
  diff?: string;
}

export interface SyncOutcome {
  contextCsn: string;
  outputs: OutputResult[];
  lines: number;
  skipped: BuiltMap['skipped'];
  problems: string[];
  durationMs: number;
}

export async function syncMap(ldap: LdapConnection, baseDn: string, agent: AgentSection, options: SyncOptions = {}): Promise<SyncOutcome> {
  const started = performance.now();
  const contextCsn = await readContextCsn(ldap, baseDn);
  const snapshot = await readDirectory(ldap, baseDn, agent.pageSize);
  const built = await buildMap(snapshot, { oidcAliases: agent.oidcAliases, ...(options.now ? { now: options.now } : {}) });

  const targets: { path: string; produce: (sink: TextSink) => void; lines: number; guarded: boolean }[] = [
    { path: agent.multimapPath, produce: built.writeMultimap, lines: built.lines, guarded: true },
  ];
  if (agent.gridMapfilePath) targets.push({ path: agent.gridMapfilePath, produce: built.writeGridMapfile, lines: built.gridLines, guarded: true });
  if (agent.jsonSnapshotPath) targets.push({ path: agent.jsonSnapshotPath, produce: built.writeJson, lines: built.lines, guarded: false });

  for (const t of targets) {
    if (!existsSync(dirname(t.path))) throw new ConfigError(`the directory of ${t.path} does not exist (check agent.multimapPath / gridMapfilePath / jsonSnapshotPath)`);
  }
  const guard = { maxShrinkFraction: agent.maxShrinkFraction, force: !!options.force, ownership: agent.mapFileOwnership };
  // Check every guarded output before writing any, so that one refusal leaves all files as they were.
  for (const t of targets) if (t.guarded) checkShrink(fileFacts(t.path)?.lines ?? 0, t.lines, guard);

  const outputs: OutputResult[] = [];
  for (const t of targets) {
    const opts = t.guarded ? guard : { force: true, ownership: agent.mapFileOwnership };
    if (options.dryRun) {
      const old = readCurrent(t.path) ?? '';
      const next = render(t.produce);
      outputs.push({ path: t.path, changed: old !== next, oldLines: countMapLines(old), newLines: countMapLines(next), diff: lineDiff(old, next) });
    } else {
      outputs.push({ path: t.path, ...replaceFileAtomically(t.path, t.produce, opts) });
    }
  }
  return { contextCsn, outputs, lines: built.lines, skipped: built.skipped, problems: built.problems, durationMs: performance.now() - started };
}

/** Lines only in the old content (`- `) and only in the new one (`+ `); both inputs are sorted maps. */
export function lineDiff(oldContent: string, newContent: string): string {
  const oldSet = new Set(oldContent.split('\n').filter(Boolean));
  const newSet = new Set(newContent.split('\n').filter(Boolean));
  const out: string[] = [];
  for (const l of oldSet) if (!newSet.has(l)) out.push(`- ${l}`);
  for (const l of newSet) if (!oldSet.has(l)) out.push(`+ ${l}`);
  return out.join('\n');
}
