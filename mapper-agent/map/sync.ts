/**
 * One map sync: note the directory's contextCSN, read the directory, build the outputs, and
 * replace each output file atomically when (and only when) it changed. A failed or partial read
 * throws before anything is written, so the last good map stays in place; a map that shrinks
 * beyond the limit is refused (ShrinkRefusedError) unless forced. A dry run writes nothing and
 * returns the diff of what would change.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import type { LdapConnection } from '../../core/ldap/connection.js';
import { readContextCsn } from '../../core/directory/change-signal.js';
import type { AgentSection } from '../config.js';
import { readDirectory } from './directory-reader.js';
import { buildMap, render, type BuiltMap } from './build.js';
import { checkShrink, countKeysIn, countMapLines, fileFacts, readCurrent, replaceFileAtomically, type TextSink } from './atomic-write.js';

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
  /** dry run: why a real sync would refuse to write (the shrink guard) */
  refused?: string;
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

  const targets: { path: string; produce: (sink: TextSink) => void; lines: number; guard?: 'multimap' | 'grid-mapfile' }[] = [
    { path: agent.multimapPath, produce: built.writeMultimap, lines: built.lines, guard: 'multimap' },
  ];
  if (agent.gridMapfilePath) targets.push({ path: agent.gridMapfilePath, produce: built.writeGridMapfile, lines: built.gridLines, guard: 'grid-mapfile' });
  if (agent.jsonSnapshotPath) targets.push({ path: agent.jsonSnapshotPath, produce: built.writeJson, lines: built.lines });

  for (const t of targets) {
    const dir = resolve(dirname(t.path));
    // The agent's own state directory is made as needed (the demo's var/agent); a missing directory elsewhere is a configuration error.
    if (!existsSync(dir) && (dir === resolve(agent.stateDir) || dir.startsWith(`${resolve(agent.stateDir)}/`))) mkdirSync(dir, { recursive: true });
    if (!existsSync(dir)) throw new ConfigError(`the directory of ${t.path} does not exist (check agent.multimapPath / gridMapfilePath / jsonSnapshotPath)`);
  }
  // Removals the directory explains (inactive accounts and identities, keys two accounts claim) never count against the guard.
  const guardFor = (t: (typeof targets)[number]) => t.guard
    ? { maxShrinkFraction: agent.maxShrinkFraction, force: !!options.force, ownership: agent.mapFileOwnership, explained: countKeysIn(t.path, built.explained, t.guard) }
    : { force: true, ownership: agent.mapFileOwnership };
  const guards = targets.map(guardFor);
  // Check every guarded output before writing any, so that one refusal leaves all files as they were.
  // A dry run shows the diff anyway, and what the guard would say.
  let refusal: Error | undefined;
  targets.forEach((t, i) => {
    try {
      checkShrink(fileFacts(t.path)?.lines ?? 0, t.lines, guards[i]!);
    } catch (err) {
      refusal ??= err as Error;
    }
  });
  if (refusal && !options.dryRun) throw refusal;

  const outputs: OutputResult[] = [];
  for (const [i, t] of targets.entries()) {
    const opts = guards[i]!;
    if (options.dryRun) {
      const old = readCurrent(t.path) ?? '';
      const next = render(t.produce);
      outputs.push({ path: t.path, changed: old !== next, oldLines: countMapLines(old), newLines: countMapLines(next), diff: lineDiff(old, next), ...(refusal ? { refused: refusal.message } : {}) });
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
