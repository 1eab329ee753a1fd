/**
 * The ingest engine: walks paths under the data roots (never following symlinks), classifies each
 * file from its name and FITS header, decides owner/group/mode from the campaign's facts, and
 * applies the change through the file's descriptor. Changes are journaled in batches: planned
 * before they are applied, confirmed after, so a crash at any point is finished by `resume()`
 * without loss or double work. A dry run plans and reports, and changes nothing.
 * Directories on the way to a readable file get the execute bits readers need to reach it (added,
 * never removed). Memory is flat in the number of files: the walk streams, batches are bounded.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import type { Classifier } from '../../core/embargo/classify.js';
import { decide, formatOwnership, sameOwnership, type CampaignFacts, type Modes } from '../../core/embargo/policy.js';
import { FitsError, BLOCK } from '../../core/fits/header.js';
import { readFitsFromFd } from '../../core/fits/detect.js';
import { applyOwnership, close, openSafely, ownershipOf, readStart, Refused, underRoot, walkSafely, type OpenedFile } from './safe-file.js';
import type { Journal, PlannedChange } from './journal.js';

export interface EngineOptions {
  /** data roots (absolute, resolved); nothing outside them is ever changed */
  roots: string[];
  classifier: Classifier;
  modes: Modes;
  resolve: (campaign: string) => CampaignFacts | undefined;
  journal: Journal;
  dryRun?: boolean;
  now?: Date;
  batchSize?: number;
  /** every decision that changes (or would change) a file */
  onChange?: (change: PlannedChange) => void;
  onRefused?: (path: string, reason: string) => void;
  /** called once per file looked at (progress) */
  onFile?: () => void;
  /** after a batch is applied (e.g. registration in Rucio) */
  afterApply?: (applied: PlannedChange[]) => Promise<void>;
  /** false: only the files directly in a given directory (the worker pool hands out directories) */
  recursive?: boolean;
}

export interface IngestReport {
  files: number;
  changed: number;
  unchanged: number;
  quarantined: number;
  left: number;
  refused: number;
  directories: number;
  /** first problems, for the operator (bounded) */
  problems: string[];
}

const MAX_PROBLEMS = 200;

export class IngestEngine {
  private readonly roots: string[];
  private readonly block = Buffer.allocUnsafe(BLOCK);
  private readonly batch: { change: PlannedChange; fd: number }[] = [];
  private readonly openedDirs = new Set<string>();
  private lastOpenedDir: string | undefined;
  private report: IngestReport = emptyReport();

  constructor(private readonly o: EngineOptions) {
    this.roots = o.roots.map((r) => realpathSync(r));
  }

  /** Ingest files and directory trees. Paths outside the roots are refused. */
  async ingest(paths: string[]): Promise<IngestReport> {
    this.report = emptyReport();
    for (const p of paths) {
      const abs = realParent(p);
      if (!abs || !(underRoot(abs, this.roots) || this.roots.includes(abs))) {
        this.refuse(p, 'is outside the configured data roots');
        continue;
      }
      let st;
      try {
        st = lstatSync(p);
      } catch (err) {
        this.refuse(p, `cannot stat: ${(err as NodeJS.ErrnoException).code}`);
        continue;
      }
      if (st.isSymbolicLink()) this.refuse(p, 'is a symbolic link');
      else if (st.isDirectory()) await this.walk(p);
      else if (this.file(p)) await this.flush();
    }
    await this.flush();
    return this.report;
  }

  /** Finish what a crashed run planned but never confirmed. Returns how many were finished. */
  resume(): { applied: number; skipped: number } {
    const done: { id: number; state: 'applied' | 'skipped'; reason?: string }[] = [];
    for (const row of this.o.journal.pending()) {
      let opened;
      try {
        opened = openSafely(row.path, this.roots, row.kind === 'directory' ? 'directory' : 'file');
      } catch (err) {
        done.push({ id: row.id, state: 'skipped', reason: `on resume: ${(err as Error).message}` });
        continue;
      }
      try {
        const current = ownershipOf(opened.stat);
        if (opened.stat.dev !== row.dev || opened.stat.ino !== row.ino) done.push({ id: row.id, state: 'skipped', reason: 'on resume: the file was replaced since it was planned' });
        else if (sameOwnership(current, row.target)) done.push({ id: row.id, state: 'applied' });
        else if (sameOwnership(current, row.before)) {
          if (!this.o.dryRun) applyOwnership(opened.fd, row.target);
          done.push({ id: row.id, state: 'applied' });
        } else done.push({ id: row.id, state: 'skipped', reason: `on resume: changed by someone else to ${formatOwnership(current)}` });
      } finally {
        close(opened.fd);
      }
    }
    if (!this.o.dryRun) this.o.journal.finish(done);
    return { applied: done.filter((d) => d.state === 'applied').length, skipped: done.filter((d) => d.state === 'skipped').length };
  }

  /** Every file under `top` (see walkSafely), flushing whenever a batch fills. */
  private async walk(top: string): Promise<void> {
    for (const item of walkSafely([top], this.roots, this.o.recursive !== false)) {
      if (item.kind !== 'file') this.refuse(item.path, item.reason);
      else if (this.file(item.path, item.open)) await this.flush();
    }
  }

  /** Look at one file, plan its change; true when the batch is full and must be flushed. Synchronous: no promise per file. */
  private file(path: string, open: () => OpenedFile = () => openSafely(path, this.roots)): boolean {
    this.report.files++;
    this.o.onFile?.();
    let opened;
    try {
      opened = open();
    } catch (err) {
      if (err instanceof Refused) {
        this.refuse(path, err.message);
        return false;
      }
      throw err;
    }
    let keepOpen = false;
    try {
      const current = ownershipOf(opened.stat);
      let headers;
      let headerProblem: string | undefined;
      try {
        const read = readFitsFromFd(opened.fd, readStart(opened.fd, this.block), path);
        if (read.kind === 'fits') headers = read.headers;
      } catch (err) {
        if (!(err instanceof FitsError)) throw err;
        headerProblem = `unreadable FITS header: ${err.message}`;
      }
      const decision = headerProblem
        ? { action: 'quarantine' as const, why: headerProblem, target: { ...current, mode: current.mode & 0o770 } }
        : decide(this.o.classifier.classify(path, headers), current, this.o.resolve, this.o.modes, this.o.now ?? new Date());
      if (decision.action === 'leave') {
        this.report.left++;
        this.problem(`${path}: left alone: ${decision.why}`);
        return false;
      }
      if (decision.action === 'quarantine') {
        this.report.quarantined++;
        this.problem(`${path}: quarantined (no world access): ${decision.why}`);
      }
      if (sameOwnership(current, decision.target)) {
        if (decision.action === 'set') this.report.unchanged++;
        return false;
      }
      const change: PlannedChange = {
        path, dev: opened.stat.dev, ino: opened.stat.ino, kind: decision.action === 'quarantine' ? 'quarantine' : 'ingest',
        before: current, target: decision.target, reason: decision.why, ...('campaign' in decision && decision.campaign ? { campaign: decision.campaign } : {}),
      };
      if (decision.action === 'set') this.report.changed++;
      this.o.onChange?.(change);
      if ((decision.target.mode & 0o044) !== 0) this.openDirectories(dirname(opened.realPath));
      this.batch.push({ change, fd: opened.fd });
      keepOpen = true;
      return this.batch.length >= (this.o.batchSize ?? 256);
    } finally {
      if (!keepOpen) close(opened.fd);
    }
  }

  /**
   * Directories from the root down to `dir` get g+x and o+x (added, never removed): members must
   * reach embargoed files, everyone public ones. Traversal reveals nothing the file modes protect;
   * listing (r) is left as the directory has it.
   */
  private openDirectories(dir: string): void {
    if (dir === this.lastOpenedDir) return;
    this.lastOpenedDir = dir;
    const root = this.roots.find((r) => dir === r || dir.startsWith(r + sep));
    if (!root) return;
    const parts = dir.slice(root.length).split(sep).filter(Boolean);
    let current = root;
    for (const part of [undefined, ...parts]) {
      if (part) current = join(current, part);
      if (this.openedDirs.has(current)) continue;
      this.openedDirs.add(current);
      let opened;
      try {
        opened = openSafely(current, this.roots, 'directory');
      } catch (err) {
        this.problem(`${current}: directory left as is: ${(err as Error).message}`);
        continue;
      }
      const before = ownershipOf(opened.stat);
      const mode = before.mode | 0o011;
      if (mode === before.mode) {
        close(opened.fd);
        continue;
      }
      this.report.directories++;
      const change: PlannedChange = { path: current, dev: opened.stat.dev, ino: opened.stat.ino, kind: 'directory', before, target: { ...before, mode }, reason: 'readers need to traverse it' };
      this.o.onChange?.(change);
      this.batch.push({ change, fd: opened.fd });
    }
  }

  private async flush(): Promise<void> {
    const batch = this.batch.splice(0);
    if (!batch.length) return;
    try {
      if (this.o.dryRun) return;
      const ids = this.o.journal.plan(batch.map((b) => b.change));
      const done: { id: number; state: 'applied' | 'skipped'; reason?: string }[] = [];
      const applied: PlannedChange[] = [];
      batch.forEach((b, i) => {
        try {
          applyOwnership(b.fd, b.change.target);
          done.push({ id: ids[i]!, state: 'applied' });
          applied.push(b.change);
        } catch (err) {
          done.push({ id: ids[i]!, state: 'skipped', reason: `apply failed: ${(err as Error).message}` });
          this.problem(`${b.change.path}: could not apply: ${(err as Error).message}`);
        }
      });
      this.o.journal.finish(done);
      if (this.o.afterApply) await this.o.afterApply(applied.filter((c) => c.kind === 'ingest'));
    } finally {
      for (const b of batch) close(b.fd);
    }
  }

  private refuse(path: string, reason: string): void {
    this.report.refused++;
    this.o.onRefused?.(path, reason);
    this.problem(`${path}: refused: ${reason}`);
  }

  private problem(text: string): void {
    if (this.report.problems.length < MAX_PROBLEMS) this.report.problems.push(text);
  }
}

function emptyReport(): IngestReport {
  return { files: 0, changed: 0, unchanged: 0, quarantined: 0, left: 0, refused: 0, directories: 0, problems: [] };
}

/** The path with its parent resolved (the last component is not followed). */
function realParent(p: string): string | undefined {
  try {
    const parent = realpathSync(dirname(p));
    return join(parent, p.split(sep).pop()!);
  } catch {
    return undefined;
  }
}
