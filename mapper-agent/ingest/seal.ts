/**
 * Header seals: what a file's FITS header said, journaled with the file's status right after the
 * agent applied its decision, so that embargo enforcement, which would otherwise read every header
 * again (from disk: a campaign's pages are long gone from the cache when its embargo ends), can
 * decide from the journal while the file is provably the one that was read.
 *
 * A seal is recorded only when the read can be vouched for:
 *  - the file was quiet: its mtime and ctime were at least QUIET_MS before the run began. Every
 *    later write then moves mtime (Linux stamps it from a clock that is past both), even a write in
 *    the same clock tick as one of ours;
 *  - nothing changed between the read and the change: size, mtime and ctime just before the change
 *    (fstat in the same native call) are those seen when the file was opened and read;
 *  - the change itself moved nothing but ctime (size and mtime just after it are the same).
 * It holds while the file has the same device, inode, name (the classifier reads names too), size,
 * mtime and ctime, and the classification rules are the same. ctime cannot be set by anyone: a
 * write, chmod, chown, rename, link or utimes moves it, so a header rewritten with its mtime put
 * back is still seen.
 * A seal is made where a header is read and the decision on it applied (ingest, verify --fix, an
 * enforcement run that read it). A change decided from a seal makes none: it moves the file's
 * ctime, so the next enforcement of that file (a re-embargo, rare) reads the header and seals again;
 * the common lifetime (ingested under embargo, lifted once) costs one header read.
 * What it does not see: a change made within the same clock tick right after our own (ctime then
 * keeps our tick) that also puts mtime back exactly. Only the file's owner or root can do that, and
 * either could simply chmod the file: it widens no one's access.
 *
 * The seals of a batch are one JSON document (`batch_seals.seals`), written with its confirmation:
 *   {"v":1,"s":[strings...],"f":[[dir,name,dev,ino,rules,campaign,reason,hdu,hduKind,keyword,observed,size,mtimeMs,ctimeMs],...]}
 * `dir`, `rules`, `campaign`, `reason`, `hduKind` and `keyword` index `s`; `observed` is null,
 * ["date",text,hdu,ms] or ["invalid",text,hdu,reason].
 */
import { createHash } from 'node:crypto';
import type { Classification, ClassificationRules } from '../../core/embargo/classify.js';
import type { HduKind } from '../../core/fits/hdus.js';
import { parseDocument, sharedStrings, stringAt, type JournalDocument } from './journal-document.js';
import type { FileStat, Stamp } from './safe-file.js';

export type ScienceClassification = Extract<Classification, { kind: 'science' }>;

/**
 * How long a file must have been left alone before the run for its header read to be sealed: more
 * than the coarsest timestamp granularity of a Linux file system that holds data (1 s: ext4 with
 * 128-byte inodes) plus a clock tick. `watch` ingests a file once it has not changed for
 * agent.ingest.settleMs (default the same 2 s), so files ingested on events are sealed.
 */
export const QUIET_MS = 2000;

export interface Seal {
  classification: ScienceClassification;
  /** rulesFingerprint() of the rules the header was classified under */
  rules: string;
  /** the file's status just after the change was applied */
  stamp: Stamp;
}

/** A seal as journaled: the file it was made for. */
export interface SealedFile {
  dir: string;
  name: string;
  dev: number;
  ino: number;
  seal: Seal;
}

/** The classification rules, and this format's version, as a short hash: other rules, no seal. */
export function rulesFingerprint(rules: ClassificationRules): string {
  return createHash('sha256').update(JSON.stringify({ seal: 1, rules })).digest('hex').slice(0, 16);
}

/**
 * The seal of a change just applied, or undefined when the read cannot be vouched for (see the
 * module comment). `opened`: the status when the file was opened and its header read;
 * `applied`: just before and after the change; `runStartMs`: the host clock when the run began.
 */
export function sealOf(classification: ScienceClassification, rules: string, opened: Stamp, applied: { before: Stamp; after: Stamp }, runStartMs: number): Seal | undefined {
  if (!quiet(opened, runStartMs)) return undefined;
  if (!sameStamp(applied.before, opened)) return undefined;
  if (applied.after.size !== opened.size || applied.after.mtimeMs !== opened.mtimeMs) return undefined;
  return { classification, rules, stamp: applied.after };
}

/** The file had been left alone (mtime and ctime) for QUIET_MS when the run began: the first condition of a seal. */
export function quiet(opened: Stamp, runStartMs: number): boolean {
  const quietSince = runStartMs - QUIET_MS;
  return opened.mtimeMs <= quietSince && opened.ctimeMs <= quietSince;
}

/** The seal still holds for this file as it is now (opened by the same name in the same directory). */
export function sealHolds(sealed: SealedFile, stat: FileStat, rules: string): boolean {
  return sealed.dev === stat.dev && sealed.ino === stat.ino && sealed.seal.rules === rules && sameStamp(sealed.seal.stamp, stat);
}

function sameStamp(a: Stamp, b: Stamp): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

export function encodeSeals(files: SealedFile[]): string {
  const { strings, ref } = sharedStrings();
  const f = files.map(({ dir, name, dev, ino, seal: { classification: c, rules, stamp } }) => {
    const o = c.observed;
    const observed = !o ? null : o.kind === 'date' ? ['date', o.text, o.hdu, o.date.getTime()] : ['invalid', o.text, o.hdu, ref(o.reason)];
    return [ref(dir), name, dev, ino, ref(rules), ref(c.campaign), ref(c.reason), c.source.hdu, ref(c.source.hduKind), ref(c.source.keyword), observed, stamp.size, stamp.mtimeMs, stamp.ctimeMs];
  });
  return JSON.stringify({ v: 1, s: strings, f });
}

const HDU_KINDS: ReadonlySet<string> = new Set<HduKind>(['primary', 'image', 'compressed-image', 'table']);

function parse(json: string): JournalDocument {
  return parseDocument(json, 'journal seals', 'seal');
}

/** The seals of a document; an Error for one this version cannot read (never a guess: the header is read instead). */
export function decodeSeals(json: string): SealedFile[] {
  const doc = parse(json);
  return doc.f.map((e) => decodeEntry(doc.s, e));
}

/**
 * What a seal says besides its file's own status and observation date: the rules and the shared
 * part of its classification. A directory's files have few distinct forms (one campaign, one
 * keyword), so each is kept once and a file keeps its form's index.
 */
interface Form {
  rules: string;
  campaign: string;
  reason: string;
  source: ScienceClassification['source'];
  /**
   * The observation date's kind and HDU, and an invalid one's reason; its time and text are the
   * file's own. A date's text is nearly always the start of the date's ISO form ('2026-12-02',
   * '2026-12-02T03:04:05.678'): then `iso` is its length and the text is not kept.
   */
  observed: null | { kind: 'date'; hdu: number; iso: number | null } | { kind: 'invalid'; hdu: number; reason: string };
}

/** A file's form index when its newest seal cannot be read: the name is taken (older seals never count), nothing holds. */
const UNREADABLE = -1;
/** A file's numbers in `numbers`: device, inode, size, mtime, ctime, observation time. */
const NUMBERS = 6;

/**
 * The seals of one directory's files, newest first per name (a newer seal of a name means a later
 * change: an older one cannot hold). Each name's newest seal is decoded once and kept in flat
 * columns (its numbers, its form's index, its observation date's text when needed): about 150 bytes
 * a file, the name included, where the parsed entries kept until asked for took 455 (measured:
 * bench/seal-memory-probe.ts, docs/ingest.md#header-seals).
 */
export class DirectorySeals {
  /** name -> slot in the columns below */
  private readonly slots = new Map<string, number>();
  private numbers = new Float64Array(NUMBERS * 64);
  private formOf = new Int32Array(64);
  /** the observation date's text when not its ISO form's start (Form.observed), else '' */
  private readonly observedText: string[] = [];
  private readonly forms: Form[] = [];
  /** forms by reason (a reason names the campaign and keyword): few forms to compare each */
  private readonly formsByReason = new Map<string, number[]>();
  /**
   * Documents with entries of this directory that can never count again (every one superseded by a
   * newer seal): `seals` is the document without them, or null when nothing else is left in it.
   * Writing them back (Journal.pruneSeals) keeps what later runs read small; it only drops entries.
   */
  readonly prunable: { id: number; seals: string | null }[] = [];
  /** the documents kept seals come from (`docOf`: a slot's index here), with their other directories' entries when they have any */
  private readonly docs: { id: number; others: JournalDocument | null }[] = [];
  private docOf = new Int32Array(64);
  /** 1: the slot's seal can never hold again (spend, or a file found changed since) */
  private spent = new Uint8Array(64);

  /** `docs`: the directory's seal documents, newest first; one this version cannot read is passed over (its files' headers are read). */
  constructor(dir: string, docs: Iterable<{ id: number; seals: string }>, onUnreadable?: (err: Error) => void) {
    for (const { id, seals } of docs) {
      let doc: JournalDocument;
      try {
        doc = parse(seals);
      } catch (err) {
        onUnreadable?.(err as Error);
        continue;
      }
      let live = false;
      const others: unknown[] = [];
      const dirIndex = doc.s.indexOf(dir); // most entries refer to it: a number to compare, not a string
      const last: LastForm = { entry: undefined, form: UNREADABLE };
      for (const e of doc.f) {
        // A directory index that is no number is not looked up: an object there (damage) could throw on conversion to a key.
        if (!Array.isArray(e) || typeof e[1] !== 'string' || (e[0] !== dirIndex && (typeof e[0] !== 'number' || doc.s[e[0]] !== dir))) {
          others.push(e); // not this directory's to judge
          continue;
        }
        if (this.slots.has(e[1])) continue;
        this.keep(e[1], doc.s, e, last);
        this.docOf[this.size - 1] = this.docs.length;
        live = true;
      }
      if (live) this.docs.push({ id, others: others.length ? { s: doc.s, f: others } : null });
      else this.prunable.push({ id, seals: withOnly(doc.s, others) });
    }
    this.numbers = this.numbers.slice(0, this.size * NUMBERS);
    this.formOf = this.formOf.slice(0, this.size);
    this.docOf = this.docOf.slice(0, this.size);
    this.spent = this.spent.slice(0, this.size);
  }

  /** How many names have a seal here (what SealCache counts against SEAL_BOUNDS.entries). */
  get size(): number {
    return this.slots.size;
  }

  /** The classification of `name`'s seal when it holds for the file as it is now (sealHolds), else undefined. */
  holding(name: string, stat: FileStat, rules: string): ScienceClassification | undefined {
    const slot = this.slots.get(name);
    if (slot === undefined) return undefined;
    const f = this.formOf[slot]!;
    const n = this.numbers;
    const at = slot * NUMBERS;
    if (f === UNREADABLE) return undefined;
    // The cheap comparisons first: most misses are a moved ctime. A file changed since its seal
    // (ctime only moves forward, an inode is another file) never matches it again.
    if (n[at + 4] !== stat.ctimeMs || n[at + 1] !== stat.ino || n[at] !== stat.dev || n[at + 2] !== stat.size || n[at + 3] !== stat.mtimeMs) {
      this.spent[slot] = 1;
      return undefined;
    }
    const form = this.forms[f]!;
    return form.rules === rules ? classificationOf(form, this.observedText[slot]!, n[at + 5]!) : undefined;
  }

  /** `name`'s seal decided a change that is now applied: the change moved the file's ctime, so the seal can never hold again. */
  spend(name: string): void {
    const slot = this.slots.get(name);
    if (slot !== undefined) this.spent[slot] = 1;
  }

  /**
   * The documents every kept seal of which can never hold again (spent), as `prunable` gives them:
   * without this directory's entries, or null when nothing else is left in them. Dropping them
   * loses nothing: an older seal of the same name that then counts does not hold either (the file
   * changed after it too). A lift spends its directory's seals: later runs do not read them again.
   */
  spentDocuments(): { id: number; seals: string | null }[] {
    const unspent = new Uint8Array(this.docs.length);
    for (let slot = 0; slot < this.size; slot++) if (!this.spent[slot]) unspent[this.docOf[slot]!] = 1;
    return this.docs.flatMap((d, i) => (unspent[i] ? [] : [{ id: d.id, seals: d.others ? withOnly(d.others.s, d.others.f) : null }]));
  }

  /**
   * Keep `name`'s newest seal: decoded in full once (a seal that cannot be read never holds), then
   * its columns. `last`: the entry kept before it from the same document and its form; a seal that
   * refers to the same strings and HDU has that form, and only its own fields are checked here.
   */
  private keep(name: string, s: unknown[], e: unknown[], last: LastForm): void {
    const slot = this.slots.size;
    this.slots.set(name, slot);
    if (this.formOf.length === slot) this.grow();
    if (this.keepLike(slot, e, last)) return;
    const sealed = decodedOrUndefined(s, e);
    if (!sealed) return this.store(slot, UNREADABLE, '', 0, 0, 0, 0, 0, 0);
    const { dev, ino, seal: { classification, rules, stamp } } = sealed;
    const o = classification.observed;
    const form = formOfSeal(rules, classification);
    const textFromIso = form.observed?.kind === 'date' && form.observed.iso !== null; // isoPrefix, as formOfSeal found it
    this.store(slot, this.formIndex(form), o && !textFromIso ? o.text : '', dev, ino, stamp.size, stamp.mtimeMs, stamp.ctimeMs, o?.kind === 'date' ? o.date.getTime() : 0);
    if (!o || o.kind === 'date') {
      last.entry = e;
      last.form = this.formOf[slot]!;
    }
  }

  /** A kept seal's columns: its form, its observation date's text when not its ISO form's start, its numbers. */
  private store(slot: number, form: number, text: string, dev: number, ino: number, size: number, mtimeMs: number, ctimeMs: number, observedMs: number): void {
    this.formOf[slot] = form;
    this.observedText.push(text);
    const at = slot * NUMBERS;
    const n = this.numbers;
    n[at] = dev;
    n[at + 1] = ino;
    n[at + 2] = size;
    n[at + 3] = mtimeMs;
    n[at + 4] = ctimeMs;
    n[at + 5] = observedMs;
  }

  /**
   * Keep the seal `e` in `slot` as the one before it (`last`) when it has the same form: the same
   * indices of rules, campaign, reason, HDU kind and keyword, the same HDU (Object.is), and no
   * observation date or a date in the same HDU whose text is, or is not, its ISO form's start alike.
   * Its own fields are checked as decodeEntry checks them. False: decode it in full.
   */
  private keepLike(slot: number, e: unknown[], last: LastForm): boolean {
    const p = last.entry;
    if (!p || e.length !== 14) return false;
    for (let i = 4; i <= 9; i++) if (!Object.is(e[i], p[i])) return false;
    const [, , dev, ino, , , , , , , observed, size, mtimeMs, ctimeMs] = e;
    if (!finite(dev) || !finite(ino) || !finite(size) || !finite(mtimeMs) || !finite(ctimeMs)) return false;
    const before = this.forms[last.form]!.observed; // none, or a date (keep() sets `last` for no other)
    let text = '';
    let observedMs = 0;
    if (observed !== null || before !== null) {
      if (observed === null || before?.kind !== 'date' || !Array.isArray(observed) || observed.length !== 4 || observed[0] !== 'date') return false;
      if (typeof observed[1] !== 'string' || !Object.is(observed[2], before.hdu) || !finite(observed[3])) return false;
      const date = new Date(observed[3]); // its time as decodeEntry keeps it (a Date's: whole milliseconds, NaN out of range)
      const iso = isoPrefix({ kind: 'date', text: observed[1], hdu: observed[2] as number, date }) ? observed[1].length : null;
      if (iso !== before.iso) return false;
      text = iso === null ? observed[1] : '';
      observedMs = date.getTime();
    }
    this.store(slot, last.form, text, dev, ino, size, mtimeMs, ctimeMs, observedMs);
    return true;
  }

  private grow(): void {
    this.numbers = doubled(this.numbers);
    this.formOf = doubled(this.formOf);
    this.docOf = doubled(this.docOf);
    this.spent = doubled(this.spent);
  }

  /** The index of this seal's form, added the first time it is seen. */
  private formIndex(form: Form): number {
    const same = this.formsByReason.get(form.reason) ?? this.formsByReason.set(form.reason, []).get(form.reason)!;
    for (const i of same) if (sameForm(this.forms[i]!, form)) return i;
    const i = this.forms.push(form) - 1;
    same.push(i);
    return i;
  }
}

/** A column twice as long, its values kept. */
function doubled<T extends Float64Array | Int32Array | Uint8Array>(column: T): T {
  const longer = new (column.constructor as new (length: number) => T)(column.length * 2);
  longer.set(column);
  return longer;
}

/** A seal document with only these entries (`s` as it was), or null for none. */
function withOnly(s: unknown[], entries: unknown[]): string | null {
  return entries.length ? JSON.stringify({ v: 1, s, f: entries }) : null;
}

/** The entry DirectorySeals kept last from a document, and its form (keepLike). */
interface LastForm {
  entry: unknown[] | undefined;
  form: number;
}

/** A journaled number: finite (what decodeEntry and keepLike accept). */
function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function formOfSeal(rules: string, c: ScienceClassification): Form {
  const o = c.observed;
  const observed: Form['observed'] = !o ? null : o.kind === 'date' ? { kind: 'date', hdu: o.hdu, iso: isoPrefix(o) ? o.text.length : null } : { kind: 'invalid', hdu: o.hdu, reason: o.reason };
  return { rules, campaign: c.campaign, reason: c.reason, source: c.source, observed };
}

/** The same form, HDUs compared with Object.is: a form kept gives back exactly what each of its seals said (even an HDU of -0). */
function sameForm(a: Form, b: Form): boolean {
  return a.rules === b.rules && a.campaign === b.campaign && a.reason === b.reason && a.source.keyword === b.source.keyword
    && a.source.hduKind === b.source.hduKind && Object.is(a.source.hdu, b.source.hdu) && sameObserved(a.observed, b.observed);
}

function sameObserved(a: Form['observed'], b: Form['observed']): boolean {
  if (a === null || b === null) return a === b;
  if (a.kind !== b.kind || !Object.is(a.hdu, b.hdu)) return false;
  return a.kind === 'date' ? a.iso === (b as { iso: number | null }).iso : a.reason === (b as { reason: string }).reason;
}

/** A valid observation date whose text is the start of its ISO form (then only the text's length is kept). */
function isoPrefix(o: NonNullable<ScienceClassification['observed']>): boolean {
  return o.kind === 'date' && !Number.isNaN(o.date.getTime()) && o.date.toISOString().startsWith(o.text);
}

/** A held seal's classification, as decodeEntry gives it: a new object each time. */
function classificationOf(form: Form, observedText: string, observedMs: number): ScienceClassification {
  const o = form.observed;
  const observed: ScienceClassification['observed'] = !o ? undefined
    : o.kind === 'invalid' ? { kind: 'invalid', text: observedText, hdu: o.hdu, reason: o.reason }
    : { kind: 'date', text: o.iso === null ? observedText : new Date(observedMs).toISOString().slice(0, o.iso), hdu: o.hdu, date: new Date(observedMs) };
  return { kind: 'science', campaign: form.campaign, reason: form.reason, source: { ...form.source }, ...(observed ? { observed } : {}) };
}

function decodedOrUndefined(s: unknown[], e: unknown): SealedFile | undefined {
  try {
    return decodeEntry(s, e);
  } catch {
    return undefined; // an entry this version cannot read
  }
}

function decodeEntry(s: unknown[], e: unknown): SealedFile {
  const str = stringAt(s, 'journal seals');
  const num = (v: unknown): number => {
    if (!finite(v)) throw new Error('journal seals: a number is missing');
    return v;
  };
  if (!Array.isArray(e) || e.length !== 14 || typeof e[1] !== 'string') throw new Error('journal seals: an entry is not 14 fields');
  const [dir, name, dev, ino, rules, campaign, reason, hdu, hduKind, keyword, observed, size, mtimeMs, ctimeMs] = e as unknown[];
  const kind = str(hduKind);
  if (!HDU_KINDS.has(kind)) throw new Error(`journal seals: unknown HDU kind ${kind}`);
  const classification: ScienceClassification = {
    kind: 'science', campaign: str(campaign), reason: str(reason), source: { hdu: num(hdu), hduKind: kind as HduKind, keyword: str(keyword) },
    ...(observed === null ? {} : { observed: decodeObserved(observed, str, num) }),
  };
  return { dir: str(dir), name: name as string, dev: num(dev), ino: num(ino), seal: { classification, rules: str(rules), stamp: { size: num(size), mtimeMs: num(mtimeMs), ctimeMs: num(ctimeMs) } } };
}

function decodeObserved(o: unknown, str: (i: unknown) => string, num: (v: unknown) => number): NonNullable<ScienceClassification['observed']> {
  if (!Array.isArray(o) || o.length !== 4 || typeof o[1] !== 'string') throw new Error('journal seals: an observation date is not 4 fields');
  if (o[0] === 'date') return { kind: 'date', text: o[1], hdu: num(o[2]), date: new Date(num(o[3])) };
  if (o[0] === 'invalid') return { kind: 'invalid', text: o[1], hdu: num(o[2]), reason: str(o[3]) };
  throw new Error(`journal seals: unknown observation date kind ${String(o[0])}`);
}

/**
 * How many directories' seals, and how many seals in all, a run keeps at hand. A walk comes back to
 * a parent after each subdirectory: a parent's seals are worth keeping, a finished leaf's (often the
 * big per-day directory) are not. A seal kept costs about 150 bytes (DirectorySeals), so what is
 * kept stays within about 150 MB, or the current directory alone when it has more: it is kept
 * whatever its size (2M sealed files: about 300 MB while it is walked). The directory loaded next is
 * loaded before the others go: for a moment both are held.
 */
export const SEAL_BOUNDS = { directories: 64, entries: 1_000_000 };

/** The seals of the directories a run looks at: the current one always, the most recently used others within `bounds`. */
export class SealCache {
  /** least recently used first */
  private readonly kept = new Map<string, DirectorySeals>();
  private entries = 0;
  private current: { dir: string; seals: DirectorySeals } | undefined;

  /** `letGo`: told of each directory's seals as they are let go (over the bounds, or clear()) */
  constructor(private readonly load: (dir: string) => DirectorySeals, private readonly bounds = SEAL_BOUNDS, private readonly letGo?: (dir: string, seals: DirectorySeals) => void) {}

  /** `dir`'s seals: kept, or loaded now (then the least recently used others go while over the bounds). */
  of(dir: string): DirectorySeals {
    if (this.current?.dir === dir) return this.current.seals;
    let seals = this.kept.get(dir);
    if (seals) {
      this.kept.delete(dir); // set again below, as the most recently used
    } else {
      seals = this.load(dir);
      this.entries += seals.size;
    }
    this.kept.set(dir, seals);
    this.current = { dir, seals };
    this.evict(dir);
    return seals;
  }

  /** Let every directory's seals go. */
  clear(): void {
    const kept = [...this.kept];
    this.kept.clear();
    this.entries = 0;
    this.current = undefined;
    for (const [dir, seals] of kept) this.letGo?.(dir, seals);
  }

  private evict(current: string): void {
    for (const [dir, seals] of this.kept) {
      if (dir === current || (this.kept.size <= this.bounds.directories && this.entries <= this.bounds.entries)) return;
      this.kept.delete(dir);
      this.entries -= seals.size;
      this.letGo?.(dir, seals);
    }
  }
}
