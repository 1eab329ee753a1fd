/**
 * The ingest engine: walks paths under the data roots (never following symlinks), classifies each
 * file from its content (FITS header) and name, decides owner/group/mode from the campaign's facts,
 * and applies the change through the file's descriptor. The same engine enforces embargo dates
 * (`enforce`): there it looks only at files whose group is a campaign's and whose world read
 * disagrees with that campaign's embargo (closed after the end: lift; open before it, after a
 * re-embargo: close again), and applies only a decision that moves world read that way for that
 * campaign's data, as the file's own header says.
 *
 * Fail closed, per file: any error reading or classifying one file quarantines that file (world
 * access removed) and the run goes on; nothing is made world-readable unless the decision can say
 * why (public data of a campaign, or data of a campaign whose embargo ended).
 *
 * Changes are journaled in batches: planned before they are applied, confirmed after (with the next
 * batch's plan, one transaction, or when the call ends), and reported only once applied. After a
 * crash, `resume()` re-evaluates every unconfirmed plan under the current policy: a plan is finished
 * only when policy still gives the same target; a stale one is dropped (and the file handled as
 * policy says now). A dry run plans and reports, and changes
 * nothing. Memory is flat in the number of files: the walk streams, batches are bounded.
 */
import { outermost } from './outermost.js';
import { fstatSync, lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Classification, Classifier } from '../../core/embargo/classify.js';
import { decide, formatOwnership, sameOwnership, traverseTarget, type CampaignFacts, type Decision, type Modes, type Ownership } from '../../core/embargo/policy.js';
import { BLOCK, FitsError } from '../../core/fits/header.js';
import { readFitsFromFd } from '../../core/fits/detect.js';
import { applyEach, close, closeAll, orError, FILES_AT_ONCE, isSingleLinkFile, locate, openBeneath, openChildrenStart, openChildStart, ownershipOf, readStart, Refused, stampOf, statChild, statChildren, walkSafely, type DirHandle, type FileStat, type OpenedFile, type OpenedStart, type OwnershipChange, type Stamp } from './safe-file.js';
import { DirectorySeals, quiet, rulesFingerprint, SealCache, sealOf, SEAL_BOUNDS, type ScienceClassification } from './seal.js';
import { findProduct } from './sidecar.js';
import type { ChangeKind, Journal, PlannedChange, Settled } from './journal.js';
import { memoLast } from '../../core/memo-last.js';

export interface EngineOptions {
  /** data roots (absolute); nothing outside them is ever changed */
  roots: string[];
  classifier: Classifier;
  modes: Modes;
  resolve: (campaign: string) => CampaignFacts | undefined;
  journal: Journal;
  dryRun?: boolean;
  /** the time decisions are made at; null: the clock could not be trusted, every dated embargo holds */
  now?: Date | null;
  batchSize?: number;
  /** directories (absolute, under the roots) whose files with a public name are public without a FITS product beside them */
  publicAreas?: string[];
  /** embargo enforcement mode: gid -> name of the campaigns whose embargo ended, and of those under embargo */
  enforce?: { ended: Map<number, string>; running: Map<number, string> };
  /** every change, once applied (in a dry run: once planned) */
  onChange?: (change: PlannedChange) => void;
  onRefused?: (path: string, reason: string) => void;
  /** called once per file looked at (progress) */
  onFile?: () => void;
  /** every file's decision, changed or not (the compliance report) */
  onDecision?: (path: string, current: Ownership, decision: Decision) => void;
  /** after a batch is applied, with the descriptors still open (e.g. checksums for Rucio); errors are reported, not fatal */
  afterApply?: (applied: AppliedChange[]) => Promise<void>;
  /** false: only the files directly in a given directory (the worker pool hands out directories) */
  recursive?: boolean;
  /** enforcement decides from a file's header seal while it holds (seal.ts) instead of reading the header again; default true */
  sealedHeaders?: boolean;
  /** the host's clock (ms), read when a run begins: how long files have been quiet (seal.ts); default Date.now */
  hostClockMs?: () => number;
  /** how many directories' header seals, and seals in all, a run keeps at hand (seal.ts SEAL_BOUNDS, the default; tests make them small) */
  sealBounds?: typeof SEAL_BOUNDS;
}

export interface AppliedChange {
  change: PlannedChange;
  /** the verified descriptor the change was applied through: read through it, never re-open the path */
  fd: number;
  size: number;
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
  /** enforcement: per campaign, the earliest own end still ahead (ms) among the files kept closed (the PI's rolling notice) */
  nextOpening: Record<string, number>;
  /** enforcement: files made world-readable (applied; in a dry run: planned) */
  lifted: number;
  /** enforcement: files closed again (re-embargo), per campaign (applied; in a dry run: planned) */
  reclosedBy: Record<string, number>;
  /** enforcement: files decided from their header seal, their header not read again */
  sealed: number;
}

export interface ResumeReport {
  /** unconfirmed plans whose target is in place now (already, or by handling the file again) */
  finished: number;
  /** plans the current policy no longer gives: dropped, the file handled as policy says now */
  dropped: number;
  /** plans that could not be checked (file gone or replaced) and directory plans (re-derived from their files) */
  skipped: number;
  problems: string[];
}

export const MAX_PROBLEMS = 200;
/** `header`: a science file's classification from its own header, and its status when read: sealed once applied (seal.ts) */
type Pending = { change: PlannedChange; fd: number; size: number; header?: { classification: ScienceClassification; opened: Stamp }; spends?: SealUse };
/** The header seal a change was decided from: spent once the change is applied (it moves the file's ctime). */
type SealUse = { seals: DirectorySeals; name: string };
type Decided = { decision: Decision; science?: ScienceClassification };
type Place = { dir: DirHandle; name: string };

export class IngestEngine {
  private readonly roots: string[];
  private readonly publicAreas: string[];
  private readonly block = Buffer.allocUnsafe(BLOCK);
  /** the first blocks of the files opened together (files()) */
  private readonly blocks = { buf: Buffer.allocUnsafe(FILES_AT_ONCE * BLOCK), size: BLOCK };
  private readonly batch: Pending[] = [];
  private readonly traversed = new Set<string>();
  /** the directory (and reach) traverse() saw last: a directory's files come one after another */
  private lastTraversed = { dir: '', world: false, gid: -1 };
  private report: IngestReport = emptyReport();
  private readonly rules: string;
  /** the host clock when the current run began (seal.ts: how long a file has been quiet) */
  private runStartMs = 0;
  private readonly seals: SealCache;
  /**
   * How many files in a row (up to FILES_AT_ONCE) were worth opening (worthOpening). In a pass that
   * skips files on their status: after none, the next is looked at with a stat first; after a full
   * run, the next files are opened together without (a lift); in between, opened one at a time.
   */
  private worthRun = FILES_AT_ONCE;
  /**
   * The last batch's confirmations (applied, or skipped with the reason) and when: journaled with
   * the next batch's plan, in its transaction, or by confirm() when the call ends. A crash before
   * leaves that batch planned: resume() finds its targets in place and finishes it.
   */
  private unconfirmed: { done: Settled[]; at: string } | undefined;

  constructor(private readonly o: EngineOptions) {
    this.rules = rulesFingerprint(o.classifier.rules);
    this.seals = new SealCache((dir) => this.loadSeals(dir), o.sealBounds, (dir, seals) => this.pruneSeals(dir, seals));
    this.roots = o.roots.map((r) => realpathSync(r));
    this.publicAreas = (o.publicAreas ?? []).map((a) => a.replace(/\/+$/, ''));
  }

  private decisionTime: Date | null | undefined;

  /** Set the time decisions are made at (a long-running watch checks the clock before every round); null: untrusted. */
  at(now: Date | null): void {
    this.decisionTime = now;
  }

  private get now(): Date | undefined {
    const t = this.decisionTime === undefined ? this.o.now : this.decisionTime;
    return t === null ? undefined : (t ?? new Date());
  }


  private changedSinceMs: number | undefined;

  /** A pass that skips most files on their status alone (enforcement, an incremental pass): their first blocks are not read as they are opened. */
  private get skimming(): boolean {
    return this.o.enforce !== undefined || this.changedSinceMs !== undefined;
  }

  /**
   * Ingest (or enforce) files and directory trees. Paths outside the roots are refused.
   * `changedSinceMs` (an incremental reconciliation pass): files whose status (ctime) has not changed
   * since then are not looked at.
   */
  async ingest(paths: string[], options: { changedSinceMs?: number } = {}): Promise<IngestReport> {
    this.report = emptyReport();
    // A pool worker (not recursive) gets one directory per call within one run: the directories
    // above it were already seen by its earlier calls. Elsewhere each call looks at them again.
    if (this.o.recursive !== false) {
      this.traversed.clear();
      this.lastTraversed = { dir: '', world: false, gid: -1 };
    }
    this.changedSinceMs = options.changedSinceMs;
    this.runStartMs = (this.o.hostClockMs ?? Date.now)();
    this.seals.clear();
    try {
      for (const p of outermost(paths)) await this.path(p);
      await this.flush();
      this.confirm();
      this.seals.clear(); // what can never count again is pruned (pruneSeals)
    } finally {
      this.discardBatch(); // only after an unexpected error: nothing planned survives into the next call
    }
    return this.report;
  }

  /** Re-evaluate what a crashed run planned but never confirmed (only the plans of this engine's kind). */
  async resume(): Promise<ResumeReport> {
    const kinds: ChangeKind[] = this.o.enforce ? ['embargo-lift', 're-embargo'] : ['ingest', 'quarantine', 'directory'];
    const result: ResumeReport = { finished: 0, dropped: 0, skipped: 0, problems: [] };
    const done: Settled[] = [];
    const redo: string[] = [];
    for (const row of this.o.journal.pending(kinds)) {
      if (row.kind === 'directory') {
        done.push({ id: row.id, state: 'skipped', reason: 'on resume: directory changes are re-derived from their files' });
        result.skipped++;
        continue;
      }
      let opened: OpenedFile;
      try {
        opened = openBeneath(row.path, this.roots);
      } catch (err) {
        done.push({ id: row.id, state: 'skipped', reason: `on resume: ${(err as Error).message}` });
        result.skipped++;
        continue;
      }
      try {
        const current = ownershipOf(opened.stat);
        if (opened.stat.dev !== row.dev || opened.stat.ino !== row.ino) {
          done.push({ id: row.id, state: 'skipped', reason: 'on resume: the file was replaced since it was planned' });
          result.skipped++;
          continue;
        }
        const decision = this.accept(this.decideSafely(row.path, opened, current).decision, current);
        const target = decision.action === 'leave' ? current : decision.target;
        if (!sameOwnership(target, row.target)) {
          const why = `on resume: policy now gives ${formatOwnership(target)} (${decision.why}), the plan said ${formatOwnership(row.target)}: stale plan dropped`;
          done.push({ id: row.id, state: 'skipped', reason: why });
          if (result.problems.length < MAX_PROBLEMS) result.problems.push(`${row.path}: ${why}`);
          result.dropped++;
        } else if (sameOwnership(current, row.target)) {
          done.push({ id: row.id, state: 'applied' });
          result.finished++;
          continue;
        } else {
          done.push({ id: row.id, state: 'skipped', reason: 'on resume: finished by a fresh plan' });
          result.finished++;
        }
        redo.push(row.path);
      } finally {
        close(opened.fd);
      }
    }
    if (this.o.dryRun) return result;
    this.o.journal.finish(done);
    if (redo.length) await this.ingest(redo);
    return result;
  }

  private async path(p: string): Promise<void> {
    const abs = this.inRoots(p);
    if (!abs) return this.refuse(p, 'is outside the configured data roots');
    if (this.roots.includes(abs)) return this.walk(abs);
    let parent: OpenedFile;
    try {
      parent = openBeneath(dirname(abs), this.roots, 'directory');
    } catch (err) {
      return this.refuse(p, err instanceof Refused ? `a directory on its path ${err.message}` : (err as Error).message);
    }
    try {
      const name = basename(abs);
      let st;
      try {
        st = lstatSync(`/proc/self/fd/${parent.fd}/${name}`); // the last component, not followed
      } catch (err) {
        return this.refuse(p, `cannot stat: ${(err as NodeJS.ErrnoException).code}`);
      }
      if (st.isSymbolicLink()) this.refuse(p, 'is a symbolic link');
      else if (st.isDirectory()) await this.walk(abs);
      else if (this.file(abs, { dir: parent, name })) await this.flush();
    } finally {
      close(parent.fd);
    }
  }

  /** Every file under `top` (see walkSafely), flushing whenever a batch fills. */
  private async walk(top: string): Promise<void> {
    for (const item of walkSafely([top], this.roots, { recursive: this.o.recursive !== false })) {
      if (item.kind === 'files') await this.files(item.dir, item.names);
      else if (item.kind !== 'directory') this.refuse(item.path, item.reason);
    }
  }

  /**
   * Some of a directory's files, in the walk's order: opened together (one native call, their first
   * blocks read too when ingesting), except in a pass that skips files on their status (see file()),
   * unless every file of as many before was worth opening (a lift).
   */
  private async files(dir: DirHandle, names: string[]): Promise<void> {
    const skimming = this.skimming;
    const opened = skimming && this.worthRun < FILES_AT_ONCE ? undefined : openChildrenStart(dir, names, skimming ? undefined : this.blocks);
    // Files looked at with a stat first: the rest of the names stat'ed together, when first needed.
    let stats: (FileStat | undefined)[] | undefined;
    let statsFrom = 0;
    let at = 0;
    try {
      for (; at < names.length; at++) {
        const name = names[at]!;
        let stat: FileStat | undefined;
        if (!opened && skimming && this.worthRun === 0) {
          if (!stats) [stats, statsFrom] = [statChildren(dir, names.slice(at)), at];
          stat = stats[at - statsFrom];
        }
        const pre = opened?.[at];
        const path = pre && !(pre instanceof Error) ? pre.realPath : `${dir.realPath}/${name}`;
        if (this.file(path, { dir, name }, pre, stat)) await this.flush();
      }
    } finally {
      // only after an error part-way: the descriptors not handed to file() yet
      for (const rest of opened?.slice(at + 1) ?? []) if (!(rest instanceof Error)) close(rest.fd);
    }
  }

  /**
   * Look at one file, plan its change; true when the batch is full and must be flushed. Synchronous:
   * no promise per file. Its first block is read as it is opened, except where most files are
   * skipped on their status alone (enforcement, an incremental pass). `pre`: the file opened
   * already (or the error opening it gave); file() owns its descriptor. `stat`: its status, taken
   * by name already.
   */
  private file(path: string, place: Place, pre?: OpenedStart | Error, stat?: FileStat): boolean {
    // Enforcement and incremental passes pass over most files on their status alone: a stat by name
    // first, no descriptor, unless the previous file was worth opening (a directory's files are
    // alike: a lift opens each file without a stat first, a run with nothing to do opens none).
    if (!pre && this.worthRun === 0 && this.skimming) {
      const st = stat ?? statChild(place.dir, place.name);
      if (st && isSingleLinkFile(st) && !this.worthOpening(st)) return false;
    }
    let opened;
    try {
      if (pre instanceof Error) throw pre;
      opened = pre ?? openChildStart(place.dir, place.name, this.skimming ? undefined : this.block);
    } catch (err) {
      this.report.files++;
      this.refuse(path, err instanceof Refused ? err.message : `cannot open: ${(err as Error).message}`);
      return false;
    }
    let keepOpen = false;
    try {
      if (!this.worthOpening(opened.stat)) {
        this.worthRun = 0;
        return false;
      }
      if (this.worthRun < FILES_AT_ONCE) this.worthRun++;
      const current = ownershipOf(opened.stat);
      this.report.files++;
      this.o.onFile?.();
      const sealsHere = this.o.enforce && this.o.sealedHeaders !== false ? this.seals.of(place.dir.realPath) : undefined;
      const sealed = sealsHere?.holding(place.name, opened.stat, this.rules);
      if (sealed) this.report.sealed++;
      const { decision: decided, science } = this.decideSafely(path, opened, current, place, sealed);
      if (this.o.enforce) this.noteOpening(decided);
      const decision = this.accept(decided, current);
      this.o.onDecision?.(path, current, decision);
      if (decision.action === 'leave') {
        this.report.left++;
        this.problem(`${path}: ${this.o.enforce ? ((current.mode & 0o004) === 0 ? 'not lifted' : 'not closed') : 'left alone'}: ${decision.why}`);
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
        path, dev: opened.stat.dev, ino: opened.stat.ino, kind: changeKind(decision, current, !!this.o.enforce),
        before: current, target: decision.target, reason: decision.why, ...(decision.campaign ? { campaign: decision.campaign } : {}), arrivedMs: opened.stat.mtimeMs,
      };
      if (decision.action === 'set') this.report.changed++;
      // A file not quiet cannot be sealed (seal.ts): its change needs no status around it.
      const sealable = science && decision.action === 'set' && quiet(opened.stat, this.runStartMs);
      this.plan({
        change, fd: opened.fd, size: opened.stat.size, ...(sealable ? { header: { classification: science, opened: stampOf(opened.stat) } } : {}),
        ...(sealed ? { spends: { seals: sealsHere!, name: place.name } } : {}),
      });
      keepOpen = true;
      if (decision.action === 'set') this.traverse(place.dir.realPath, decision.target);
      return this.batch.length >= (this.o.batchSize ?? 256);
    } finally {
      if (!keepOpen) close(opened.fd);
    }
  }

  /**
   * Classify and decide; never throws. Any failure (an unreadable or hostile header, an I/O error,
   * a bug) ends in quarantine with the reason: world access removed, owner and group kept.
   * `sealed`: the classification of a header seal that holds (the header is not read). `science`:
   * the science classification of a header read here (to seal once applied).
   */
  private decideSafely(path: string, opened: OpenedStart, current: Ownership, place?: Place, sealed?: ScienceClassification): Decided {
    try {
      let classification: Classification;
      if (sealed) {
        classification = { ...sealed, reason: asJournaled(sealed.reason) };
      } else {
        const start = opened.start ?? readStart(opened.fd, this.block);
        if (start instanceof Error) throw start;
        const read = readFitsFromFd(opened.fd, start, path, { size: opened.stat.size });
        classification = this.o.classifier.classify(path, read.kind === 'fits' ? read.headers : undefined);
        if (read.kind === 'not-fits' && classification.kind === 'public' && !classification.campaign) classification = this.attribute(path, classification, place);
      }
      const campaign = classification.kind === 'science' ? classification.campaign : undefined;
      const ingestedAt = campaign ? () => this.o.journal.ingestedAt(path, opened.stat.dev, opened.stat.ino, campaign) : undefined;
      const decision = decide(classification, current, this.o.resolve, this.o.modes, this.now, ingestedAt ? { ingestedAt } : {});
      // Only a header read now is sealed once applied: a change decided from a seal moves the file's
      // ctime, so its next enforcement (a re-embargo: rare) reads the header and seals it again.
      return { decision, ...(classification.kind === 'science' && !sealed ? { science: classification } : {}) };
    } catch (err) {
      const why = err instanceof FitsError ? `unreadable FITS header: ${err.message}` : `could not be classified: ${(err as Error).message}`;
      return { decision: { action: 'quarantine', why, target: { uid: current.uid, gid: current.gid, mode: current.mode & 0o770 } } };
    }
  }

  /** A directory's seals from the journal; none when they cannot be read (the headers are read instead). */
  private loadSeals(dir: string): DirectorySeals {
    try {
      // The documents are read one at a time (eachSealDoc): only the seals they leave are kept.
      return new DirectorySeals(dir, this.o.journal.eachSealDoc(dir), (err) => this.problem(`${dir}: a seal document passed over, its files' headers are read: ${err.message}`));
    } catch (err) {
      this.problem(`${dir}: header seals not read, headers are read instead: ${(err as Error).message}`);
      return new DirectorySeals(dir, []);
    }
  }

  /**
   * A directory's seals are let go: the documents that can never count again, superseded when they
   * were loaded or spent by this run, are dropped in one transaction (not in a dry run).
   */
  private pruneSeals(dir: string, seals: DirectorySeals): void {
    if (this.o.dryRun) return;
    try {
      this.o.journal.pruneSeals([...seals.prunable, ...seals.spentDocuments()]);
    } catch (err) {
      this.problem(`${dir}: superseded or spent header seals not pruned (later runs read them again): ${(err as Error).message}`);
    }
  }

  /**
   * A file that is public by its name alone becomes public only when it can be attributed: it lies
   * in a configured public-products area, or it is a sidecar of a FITS product of a campaign in the
   * same directory (and then takes that campaign's owner and group). Anything else keeps its mode.
   */
  private attribute(path: string, byName: Classification, place?: Place): Classification {
    if (this.publicAreas.some((a) => path.startsWith(a + sep))) return { ...byName, reason: 'public file name in a public-products area' };
    let parent: OpenedFile | undefined;
    try {
      if (!place) parent = openBeneath(dirname(path), this.roots, 'directory');
      const dir = place?.dir ?? parent!;
      const product = findProduct(dir, place?.name ?? basename(path), (opened) => {
        const read = readFitsFromFd(opened.fd, readStart(opened.fd, Buffer.allocUnsafe(BLOCK)), opened.realPath, { size: opened.stat.size });
        if (read.kind !== 'fits') return undefined;
        const c = this.o.classifier.classify(opened.realPath, read.headers);
        return (c.kind === 'science' || c.kind === 'public') && c.campaign ? c.campaign : undefined;
      });
      if (product) return { kind: 'public', campaign: product.found, reason: `${byName.reason}, beside ${product.name} of campaign ${product.found}` };
    } catch (err) {
      return { kind: 'not-fits', reason: `${byName.reason}, but its product could not be read: ${(err as Error).message}` };
    } finally {
      if (parent) close(parent.fd);
    }
    return { kind: 'not-fits', reason: `${byName.reason}, but no FITS product of a campaign beside it and not in a public area: not attributable` };
  }

  /** Enforcement: the earliest own end still ahead per campaign, among files policy keeps closed. */
  private noteOpening(d: Decision): void {
    if (d.action !== 'set' || !d.until || !d.campaign) return;
    const at = d.until.getTime();
    const now = this.now?.getTime();
    if (now === undefined || at <= now) return;
    const known = this.report.nextOpening[d.campaign];
    if (known === undefined || at < known) this.report.nextOpening[d.campaign] = at;
  }

  /** Enforcement: world read disagrees with its group's embargo; an incremental pass: changed since the last one. */
  private worthOpening(stat: OpenedFile['stat']): boolean {
    if (this.o.enforce && !this.enforcementCandidate(stat)) return false;
    return this.changedSinceMs === undefined || stat.ctimeMs >= this.changedSinceMs;
  }

  /** In enforcement mode only a file whose group is an ended campaign's without world read, or a running campaign's with it, is looked at. */
  private enforcementCandidate(stat: { mode: number; gid: number }): boolean {
    const { ended, running } = this.o.enforce!;
    const worldReadable = (stat.mode & 0o004) !== 0;
    return worldReadable ? running.has(stat.gid) : ended.has(stat.gid);
  }

  /**
   * In enforcement mode the only change allowed is the one its group's embargo calls for, and only
   * when the file's own classification says it is that campaign's data: open (ended) or close
   * (running) world read. A public product of a running campaign stays public (policy gives it that).
   */
  private accept(decision: Decision, current: Ownership): Decision {
    const enforce = this.o.enforce;
    if (!enforce) return decision;
    const open = (current.mode & 0o004) === 0;
    const campaign = (open ? enforce.ended : enforce.running).get(current.gid);
    if (decision.action !== 'set') return { action: 'leave', why: `${decision.action === 'quarantine' ? 'quarantined: ' : ''}${decision.why}` };
    if (decision.campaign !== campaign) return { action: 'leave', why: `its header says ${decision.campaign ? `campaign ${decision.campaign}` : 'no campaign'}, not ${campaign}` };
    if (open && (decision.target.mode & 0o004) === 0) return { action: 'leave', why: `policy keeps it closed: ${decision.why}` };
    if (!open && (decision.target.mode & 0o004) !== 0) return decision; // a public product: stays as policy says
    return { ...decision, why: open ? embargoEnded(campaign, decision.why) : underEmbargoAgain(campaign, decision.why) };
  }

  /**
   * Directories from the root down to the file's directory (`dir`, under a root) get the traverse
   * bits its readers need (policy.traverseTarget).
   */
  private traverse(dir: string, file: Ownership): void {
    const world = (file.mode & 0o004) !== 0;
    const last = this.lastTraversed;
    if (dir === last.dir && world === last.world && (world || file.gid === last.gid)) return; // the file before it, in the same directory
    this.lastTraversed = { dir, world, gid: file.gid };
    const reach = world ? 'world' : `group ${file.gid}`;
    // The directory's key is added after every directory above it: present, the whole path is done.
    if (this.traversed.has(`${dir}\0${reach}`)) return;
    const where = locate(dir, this.roots);
    if (!where) return;
    let current = where.root;
    for (const name of [undefined, ...where.names]) {
      if (name) current = join(current, name);
      const key = `${current}\0${reach}`;
      if (this.traversed.has(key)) continue;
      this.traversed.add(key);
      let opened;
      try {
        opened = openBeneath(current, this.roots, 'directory');
      } catch (err) {
        this.problem(`${current}: directory left as is: ${(err as Error).message}`);
        continue;
      }
      const before = ownershipOf(opened.stat);
      const { target, why } = traverseTarget(before, file);
      if (why) this.problem(`${current}: directory left as is: ${why}`);
      if (!target) {
        close(opened.fd);
        continue;
      }
      this.report.directories++;
      this.plan({ change: { path: current, dev: opened.stat.dev, ino: opened.stat.ino, kind: 'directory', before, target, reason: `${reach} must reach files inside` }, fd: opened.fd, size: 0 });
    }
  }

  private plan(p: Pending): void {
    this.batch.push(p);
    if (this.o.dryRun) this.announce(p.change);
  }

  /** A change is done (applied; in a dry run: planned): count it, then tell onChange. */
  private announce(change: PlannedChange): void {
    if (change.kind === 'embargo-lift') this.report.lifted++;
    else if (change.kind === 're-embargo') this.report.reclosedBy[change.campaign!] = (this.report.reclosedBy[change.campaign!] ?? 0) + 1;
    this.o.onChange?.(change);
  }

  private async flush(): Promise<void> {
    const batch = this.batch.splice(0);
    if (!batch.length) return;
    try {
      if (this.o.dryRun) return;
      const ids = this.o.journal.plan(batch.map((b) => b.change), this.unconfirmed?.done, this.unconfirmed?.at);
      this.unconfirmed = undefined; // journaled with this plan
      const done: Settled[] = [];
      const applied: AppliedChange[] = [];
      // The batch's changes in one native call; a directory's target is read from its mode first (addedBits).
      const targets: (Ownership | Error)[] = [];
      const changes: OwnershipChange[] = [];
      for (const b of batch) {
        const target = b.change.kind === 'directory' ? orError(() => addedBits(b.fd, b.change)) : b.change.target;
        targets.push(target);
        if (!(target instanceof Error)) changes.push({ fd: b.fd, target, before: b.change.before, watched: b.header !== undefined });
      }
      const results = applyEach(changes);
      let next = 0;
      batch.forEach((b, i) => {
        try {
          const target = targets[i]!;
          const result = target instanceof Error ? target : results[next++];
          if (result instanceof Error) throw result;
          const seal = b.header && result ? sealOf(b.header.classification, this.rules, b.header.opened, result, this.runStartMs) : undefined;
          done.push({ id: ids[i]!, state: 'applied', ...(seal ? { seal } : {}) });
          b.spends?.seals.spend(b.spends.name);
          applied.push(b);
        } catch (err) {
          done.push({ id: ids[i]!, state: 'skipped', reason: `apply failed: ${(err as Error).message}` });
          this.problem(`${b.change.path}: could not apply: ${(err as Error).message}`);
        }
      });
      this.unconfirmed = { done, at: new Date().toISOString() };
      for (const a of applied) this.announce(a.change);
      if (this.o.afterApply) {
        // What runs after applying (Rucio's metadata: a rolling file's journaled ingest time) reads the journal: confirmed first.
        this.confirm();
        try {
          await this.o.afterApply(applied.filter((a) => a.change.kind !== 'directory'));
        } catch (err) {
          this.problem(`after applying a batch: ${(err as Error).message}`);
        }
      }
    } finally {
      closeAll(batch.map((b) => b.fd));
    }
  }

  /** Journal the last batch's confirmations now (the call ends: no next plan to write them with). */
  private confirm(): void {
    const last = this.unconfirmed;
    this.unconfirmed = undefined;
    if (last) this.o.journal.finish(last.done, last.at);
  }

  /** Close what an interrupted call left planned (nothing of it is applied later); confirm what it applied, if the journal still takes it. */
  private discardBatch(): void {
    closeAll(this.batch.splice(0).map((b) => b.fd));
    try {
      this.confirm();
    } catch {
      // the call is failing already; that batch stays planned, and resume() finishes it
    }
  }

  /** The absolute path under a root: lexically, or with its parent resolved (the last component is never followed). */
  private inRoots(p: string): string | undefined {
    const abs = resolve(p);
    if (locate(abs, this.roots)) return abs;
    try {
      const resolved = join(realpathSync(dirname(abs)), basename(abs));
      return locate(resolved, this.roots) ? resolved : undefined;
    } catch {
      return undefined;
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

// The reasons enforcement journals: one string for a directory's files, not one per file.
const asJournaled = memoLast((reason: string) => `${reason} (header as journaled; the file is unchanged since)`);
const embargoEnded = memoLast((campaign: string | undefined, why: string) => `embargo of ${campaign} ended; ${why}`);
const underEmbargoAgain = memoLast((campaign: string | undefined, why: string) => `${campaign} is under embargo again; ${why}`);

/**
 * A directory's target on the mode it has now: the plan only adds traverse bits, and another
 * worker of the pool may have added others since this plan read the mode (never take them away).
 */
function addedBits(fd: number, change: PlannedChange): Ownership {
  const now = fstatSync(fd).mode & 0o7777;
  return { ...change.target, mode: now | (change.target.mode & ~change.before.mode & 0o7777) };
}

function changeKind(decision: Decision & { target: Ownership }, current: Ownership, enforcing: boolean): ChangeKind {
  if (decision.action === 'quarantine') return 'quarantine';
  const was = (current.mode & 0o004) !== 0;
  const will = (decision.target.mode & 0o004) !== 0;
  if (enforcing && !was && will) return 'embargo-lift';
  if (enforcing && was && !will) return 're-embargo';
  return 'ingest';
}

export function emptyReport(): IngestReport {
  return { files: 0, changed: 0, unchanged: 0, quarantined: 0, left: 0, refused: 0, directories: 0, problems: [], nextOpening: {}, lifted: 0, reclosedBy: {}, sealed: 0 };
}
