/**
 * The only code that opens files for changing ownership or modes. The agent runs as root in
 * directories that instruments (and so, potentially, attackers) can write, so every change goes
 * through a file descriptor that is proven to be a single-link regular file under a data root:
 *  - a root is opened by its (configured, resolved) path; everything below it is opened one
 *    component at a time relative to its parent's descriptor, as `/proc/self/fd/N/name` (the
 *    kernel resolves that within the exact directory inode, like openat(2)), with O_NOFOLLOW:
 *    no symlink is followed anywhere below a root, no component can be swapped between check and
 *    open, and no path is ever longer than one name (trees deeper than PATH_MAX work);
 *  - O_NONBLOCK (a planted FIFO cannot block the agent), O_NOCTTY (a planted tty cannot become ours);
 *  - fstat the descriptor: regular file only, st_nlink must be 1 (a hard link to a file outside
 *    the roots, e.g. /etc/shadow, looks like a regular file here);
 *  - fchown/fchmod on that descriptor, never chown/chmod on a path. Reads (headers, checksums)
 *    go through the same descriptor.
 * Two implementations of the same rules, chosen at load (native/index.ts): the native primitives
 * (openat on the parent's descriptor itself, fstat, the checks and the first block's read in one
 * call; fchown + fchmod in one; a directory's files opened, and a batch's changes applied, in one
 * call for all; directories listed with getdents64 on their descriptor) when the
 * addon is built, and Node's fs otherwise (or with CAMPAIGN_GUARD_FS=js). Both give the same
 * refusals with the same reasons; the ingest tests run against both.
 */
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, lstatSync, opendirSync, openSync, readSync, type Dir } from 'node:fs';
import { sep } from 'node:path';
import { CampaignGuardError } from '../../core/errors.js';
import type { Ownership } from '../../core/embargo/policy.js';
import { APPLY, backend, DIR_BATCH, DT, errnoError, OPEN, PHASE, S } from './native/index.js';

const addon = backend.addon;
/** Which implementation is in use ('native' or 'js') and why (the agent logs it, doctor reports it). */
export const fileBackend = { name: backend.name, why: backend.why } as const;

/** This file or directory is not one the agent may change; the reason says why. Nothing was changed. */
export class Refused extends CampaignGuardError {
  static override code = 'ERR_REFUSED';
  override readonly code = 'ERR_REFUSED';
  override readonly name = 'Refused';
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
const DIR_FLAGS = OPEN_FLAGS | constants.O_DIRECTORY;

/** What the checks and decisions use of fstat (a Node Stats has these too). */
export interface FileStat {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export interface OpenedFile {
  fd: number;
  stat: FileStat;
  /** the path under its root, built from the names opened (never re-opened by path) */
  realPath: string;
}

/** A verified directory held open: files and subdirectories are opened relative to it. */
export interface DirHandle {
  fd: number;
  realPath: string;
}

export function underRoot(realPath: string, roots: string[]): boolean {
  return roots.some((root) => realPath.startsWith(root.endsWith(sep) ? root : root + sep));
}

/** The root a path lies under (lexically) and the names from there, or undefined. */
export function locate(path: string, roots: string[]): { root: string; names: string[] } | undefined {
  const root = roots.find((r) => path === r || path.startsWith(r.endsWith(sep) ? r : r + sep));
  if (root === undefined) return undefined;
  return { root, names: path.slice(root.length).split(sep).filter(Boolean) };
}

function refusedFor(err: unknown): Refused {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return new Refused('is a symbolic link');
  if (code === 'ENOTDIR') return new Refused('is not a directory');
  if (code === 'ENXIO') return new Refused('is a socket or device without a reader');
  return new Refused(`cannot open: ${code ?? (err as Error).message}`, { cause: err });
}

function notRegular(mode: number): string {
  const type = mode & constants.S_IFMT;
  return type === constants.S_IFIFO ? 'is a FIFO' : type === constants.S_IFCHR || type === constants.S_IFBLK ? 'is a device' : type === constants.S_IFSOCK ? 'is a socket' : 'is not a regular file';
}

function openChecked(path: string, kind: 'file' | 'directory', realPath: string): OpenedFile {
  if (addon) return openNative(-100 /* AT_FDCWD */, path, OPEN.PATH | (kind === 'directory' ? OPEN.DIRECTORY : 0), kind, realPath);
  let fd: number;
  try {
    fd = openSync(path, kind === 'directory' ? DIR_FLAGS : OPEN_FLAGS);
  } catch (err) {
    throw refusedFor(err);
  }
  try {
    const stat = fstatSync(fd);
    if (kind === 'directory' && !stat.isDirectory()) throw new Refused('is not a directory');
    if (kind === 'file' && !stat.isFile()) throw new Refused(notRegular(stat.mode));
    if (kind === 'file' && stat.nlink !== 1) throw new Refused(`has ${stat.nlink} hard links`);
    return { fd, stat, realPath };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** The native twin of openChecked: open, fstat and the checks in one call; the first block too when `start` is given. */
const statOut = new Float64Array(S.SLOTS);
function openNative(dirFd: number, name: string, flags: number, kind: 'file' | 'directory', realPath: string, start?: Buffer): OpenedStart {
  const fd = addon!.openAt(dirFd, name, flags, statOut, start);
  if (fd < 0) throw openFailure(statOut, 0, kind);
  return openedFrom(fd, statOut, 0, realPath, start);
}

/** What a failed native open reported at slots[at ..], as the error the pure-JS path throws. */
function openFailure(slots: Float64Array, at: number, kind: 'file' | 'directory'): Error {
  switch (slots[at + S.PHASE]) {
    case PHASE.NAME:
      return new Refused('is not a plain file name');
    case PHASE.OPEN:
      return refusedFor(errnoError(slots[at + S.ERRNO]!, 'open'));
    case PHASE.FSTAT:
      return errnoError(slots[at + S.ERRNO]!, 'fstat');
    default: {
      const mode = slots[at + S.MODE]!;
      if (kind === 'directory') return new Refused('is not a directory');
      if ((mode & constants.S_IFMT) !== constants.S_IFREG) return new Refused(notRegular(mode));
      return new Refused(`has ${slots[at + S.NLINK]} hard links`);
    }
  }
}

/** A file the addon opened, from its status at slots[at ..]; `start`: the buffer its first bytes were read into. */
function openedFrom(fd: number, slots: Float64Array, at: number, realPath: string, start?: Buffer): OpenedStart {
  const stat = statFromSlots(slots, at);
  if (!start) return { fd, stat, realPath };
  const got = slots[at + S.READ]!;
  return { fd, stat, realPath, start: got >= 0 ? start.subarray(0, got) : errnoError(-got, 'read') };
}

function statFromSlots(slots: Float64Array, at: number): FileStat {
  return {
    dev: slots[at + S.DEV]!, ino: slots[at + S.INO]!, mode: slots[at + S.MODE]!, nlink: slots[at + S.NLINK]!, uid: slots[at + S.UID]!, gid: slots[at + S.GID]!,
    size: slots[at + S.SIZE]!, mtimeMs: slots[at + S.MTIME_MS]!, ctimeMs: slots[at + S.CTIME_MS]!,
  };
}

/** One path component: not empty, no '/', not "." or "..". */
function isPlainName(name: string): boolean {
  return name !== '' && !name.includes('/') && name !== '.' && name !== '..';
}

function plainName(name: string): void {
  if (!isPlainName(name)) throw new Refused('is not a plain file name');
}

/** What the agent may change: a regular file with one link (the checks openChild makes on the descriptor). */
export function isSingleLinkFile(stat: FileStat): boolean {
  return (stat.mode & constants.S_IFMT) === constants.S_IFREG && stat.nlink === 1;
}

/** Open `name` (a single path component) inside a directory we hold open. */
export function openChild(dir: DirHandle, name: string, kind: 'file' | 'directory' = 'file'): OpenedFile {
  plainName(name);
  if (addon) return openNative(dir.fd, name, kind === 'directory' ? OPEN.DIRECTORY : OPEN.FILE, kind, `${dir.realPath}/${name}`);
  return openChecked(`/proc/self/fd/${dir.fd}/${name}`, kind, `${dir.realPath}/${name}`);
}

/**
 * The status of `name` in a directory we hold open, not following a symlink (fstatat
 * AT_SYMLINK_NOFOLLOW); undefined when it cannot be had. Only for deciding that a file need not be
 * opened at all: a file that is changed is opened and checked again (openChild).
 */
export function statChild(dir: DirHandle, name: string): FileStat | undefined {
  if (!isPlainName(name)) return undefined;
  if (addon) {
    return addon.statAt(dir.fd, name, statOut) === 0 ? statFromSlots(statOut, 0) : undefined;
  }
  try {
    return lstatSync(`/proc/self/fd/${dir.fd}/${name}`);
  } catch {
    return undefined;
  }
}

/** What f returns, or the error it throws: the batch calls' results, each in its place. */
export function orError<T>(f: () => T): T | Error {
  try {
    return f();
  } catch (err) {
    return err as Error;
  }
}

/** The native batch calls' outputs, grown to the largest batch seen (one set per thread: module state). */
let manyStats = new Float64Array(0);
let manyFds = new Int32Array(0);
let statResults = new Int32Array(0);

/** Status slots for n names (statOut of the batch calls). */
function statsFor(n: number): Float64Array {
  if (manyStats.length < n * S.SLOTS) manyStats = new Float64Array(n * S.SLOTS);
  return manyStats;
}

/** statChild for each of `names` (entries of one directory we hold open), natively in one call. */
export function statChildren(dir: DirHandle, names: string[]): (FileStat | undefined)[] {
  if (!addon) return names.map((name) => statChild(dir, name));
  if (statResults.length < names.length) statResults = new Int32Array(names.length);
  const stats = statsFor(names.length);
  addon.statFiles(dir.fd, names, stats, statResults);
  return names.map((_, i) => (statResults[i] === 0 ? statFromSlots(stats, i * S.SLOTS) : undefined));
}

/** A file opened with its first bytes read through the descriptor, or the error that read gave (the file stays open). */
export interface OpenedStart extends OpenedFile {
  start?: Buffer | Error;
}

/**
 * openChild for a file, reading up to buf.length bytes from its start into buf (readStart) in the
 * same step (no buf: no read): with the native primitives one call does open, fstat, the checks
 * and the read.
 */
export function openChildStart(dir: DirHandle, name: string, buf: Buffer | undefined): OpenedStart {
  plainName(name);
  if (addon) return openNative(dir.fd, name, OPEN.FILE, 'file', `${dir.realPath}/${name}`, buf);
  const opened: OpenedStart = openChecked(`/proc/self/fd/${dir.fd}/${name}`, 'file', `${dir.realPath}/${name}`);
  if (!buf) return opened;
  try {
    opened.start = readStart(opened.fd, buf);
  } catch (err) {
    opened.start = err as Error;
  }
  return opened;
}

/**
 * openChildStart for each of `names` (files of one directory we hold open), natively in one call.
 * With `blocks` (block bytes per name), file i's first bytes are read into its i-th block. Each
 * result is the opened file or the error openChildStart would have thrown for it; the caller owns
 * every descriptor returned.
 */
export function openChildrenStart(dir: DirHandle, names: string[], blocks?: { buf: Buffer; size: number }): (OpenedStart | Error)[] {
  const blockOf = (i: number) => blocks?.buf.subarray(i * blocks.size, (i + 1) * blocks.size);
  if (!addon) return names.map((name, i) => orError(() => openChildStart(dir, name, blockOf(i))));
  if (manyFds.length < names.length) manyFds = new Int32Array(names.length);
  const stats = statsFor(names.length);
  addon.openFiles(dir.fd, names, stats, manyFds, blocks?.buf, blocks?.size);
  return names.map((name, i) => {
    const fd = manyFds[i]!;
    return fd < 0 ? openFailure(stats, i * S.SLOTS, 'file') : openedFrom(fd, stats, i * S.SLOTS, `${dir.realPath}/${name}`, blockOf(i));
  });
}

/**
 * Open a path under one of the roots, component by component from the root's descriptor (see the
 * file comment): a symlink anywhere below the root is refused, and paths of any length work.
 */
export function openBeneath(path: string, roots: string[], kind: 'file' | 'directory' = 'file'): OpenedFile {
  const where = locate(path, roots);
  if (!where) throw new Refused('is outside the configured data roots');
  let current = openChecked(where.root, 'directory', where.root);
  if (where.names.length === 0) {
    if (kind === 'directory') return current;
    close(current.fd);
    throw new Refused('is a data root, not a file');
  }
  try {
    for (let i = 0; i < where.names.length; i++) {
      const last = i === where.names.length - 1;
      const next = openChild({ fd: current.fd, realPath: current.realPath }, where.names[i]!, last ? kind : 'directory');
      close(current.fd);
      current = next;
    }
    return current;
  } catch (err) {
    close(current.fd);
    throw err;
  }
}

/** Read up to buf.length bytes from the start of the file (one call for the common one-block header). */
export function readStart(fd: number, buf: Buffer): Buffer {
  if (addon) {
    const n = addon.readAt(fd, buf);
    if (n < 0) throw errnoError(-n, 'read');
    return buf.subarray(0, n);
  }
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** A file's size, mtime and ctime (ms, as Node computes them): what a header seal compares (seal.ts). */
export interface Stamp {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

const stampsOut = new Float64Array(6);
const APPLY_CALLS = ['', 'fchown', 'fchmod', 'fstat'];

/**
 * Apply owner, group and mode through the descriptor. The mode is set exactly as given, special
 * bits included (directories keep their setgid and sticky bits because their targets carry them);
 * chown comes first because it may clear setuid/setgid on files. With `watched`, the descriptor's
 * status just before and just after the change is returned too (one native call).
 */
export function applyOwnership(fd: number, target: Ownership, before: Ownership): void;
export function applyOwnership(fd: number, target: Ownership, before: Ownership, watched: true): { before: Stamp; after: Stamp };
export function applyOwnership(fd: number, target: Ownership, before: Ownership, watched?: true): { before: Stamp; after: Stamp } | void {
  const chown = target.uid !== before.uid || target.gid !== before.gid;
  if (addon) {
    const r = addon.apply(fd, target.uid, target.gid, target.mode & 0o7777, chown, watched ? stampsOut : undefined);
    if (r < 0) throw errnoError(Math.floor(-r / 4), APPLY_CALLS[-r % 4]!);
    if (!watched) return;
    return { before: { size: stampsOut[0]!, mtimeMs: stampsOut[1]!, ctimeMs: stampsOut[2]! }, after: { size: stampsOut[3]!, mtimeMs: stampsOut[4]!, ctimeMs: stampsOut[5]! } };
  }
  const pre = watched ? stampOf(fstatSync(fd)) : undefined;
  if (chown) fchownSync(fd, target.uid, target.gid);
  fchmodSync(fd, target.mode & 0o7777);
  if (pre) return { before: pre, after: stampOf(fstatSync(fd)) };
}

/** One change for applyEach: applyOwnership's arguments. */
export interface OwnershipChange {
  fd: number;
  target: Ownership;
  before: Ownership;
  watched: boolean;
}

let applyFds = new Int32Array(0);
let applyPlan = new Uint32Array(0);
let applyStamps = new Float64Array(0);
let applyResults = new Int32Array(0);

/**
 * applyOwnership for each change, natively in one call. Each result: the status before and after
 * (watched), nothing, or the error applyOwnership would have thrown; a failure does not stop the others.
 */
export function applyEach(changes: OwnershipChange[]): ({ before: Stamp; after: Stamp } | undefined | Error)[] {
  if (!addon) {
    return changes.map((c) =>
      orError(() => {
        if (c.watched) return applyOwnership(c.fd, c.target, c.before, true);
        applyOwnership(c.fd, c.target, c.before);
        return undefined;
      }),
    );
  }
  const n = changes.length;
  if (applyResults.length < n) {
    applyFds = new Int32Array(n);
    applyPlan = new Uint32Array(n * APPLY.SLOTS);
    applyStamps = new Float64Array(n * 6);
    applyResults = new Int32Array(n);
  }
  const fds = applyFds.subarray(0, n);
  for (let i = 0; i < n; i++) {
    const { fd, target, before, watched } = changes[i]!;
    const chown = target.uid !== before.uid || target.gid !== before.gid;
    const at = i * APPLY.SLOTS;
    fds[i] = fd;
    applyPlan[at] = target.uid;
    applyPlan[at + 1] = target.gid;
    applyPlan[at + 2] = target.mode & 0o7777;
    applyPlan[at + 3] = (chown ? APPLY.CHOWN : 0) | (watched ? APPLY.WATCHED : 0);
  }
  addon.applyAll(fds, applyPlan.subarray(0, n * APPLY.SLOTS), applyStamps, applyResults.subarray(0, n));
  return changes.map((c, i) => {
    const r = applyResults[i]!;
    if (r < 0) return errnoError(Math.floor(-r / 4), APPLY_CALLS[-r % 4]!);
    if (!c.watched) return undefined;
    const t = applyStamps.subarray(i * 6, i * 6 + 6);
    return { before: { size: t[0]!, mtimeMs: t[1]!, ctimeMs: t[2]! }, after: { size: t[3]!, mtimeMs: t[4]!, ctimeMs: t[5]! } };
  });
}

export function stampOf(stat: FileStat): Stamp {
  return { size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs };
}

export function ownershipOf(stat: FileStat): Ownership {
  return { uid: stat.uid, gid: stat.gid, mode: stat.mode & 0o7777 };
}

export function close(fd: number): void {
  if (!addon) return closeSync(fd);
  const r = addon.close(fd);
  if (r < 0) throw errnoError(-r, 'close');
}

/** Close every descriptor of a batch (one close_range per run of consecutive ones, natively); throws the first failure once all are closed. */
export function closeAll(fds: number[]): void {
  if (!fds.length) return;
  if (addon) {
    const r = addon.closeAll(Int32Array.from(fds));
    if (r < 0) throw errnoError(-r, 'close');
    return;
  }
  let failure: unknown;
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure) throw failure;
}

export type WalkItem =
  /** regular-file entries of one directory (at most FILES_AT_ONCE), in the listing's order; opened through `dir`, held open while the item is current */
  | { kind: 'files'; path: string; dir: DirHandle; names: string[] }
  /** a directory reached by the walk (only with `directories: true`) */
  | { kind: 'directory'; path: string }
  /** an entry that is neither a directory nor a regular file (symlink, FIFO, device, socket) */
  | { kind: 'other'; path: string; reason: string }
  /** a directory that could not be opened or read */
  | { kind: 'problem'; path: string; reason: string };

/** How many regular files of a directory a walk item holds at most: opened in one native call (openChildrenStart). */
export const FILES_AT_ONCE = 64;

export interface WalkOptions {
  /** false: only the entries directly in each top (the worker pool hands out directories) */
  recursive?: boolean;
  /** also yield every directory (the pool's work list) */
  directories?: boolean;
  /**
   * false: only directories (and problems) are yielded: files and other entries are not looked at,
   * and natively not even made into strings (the pool's list of directories; each worker reports
   * what it finds in its directory)
   */
  files?: boolean;
}

/** One directory's entries as they are read: next() sets name and type (a DT_* value), false at the end. */
interface Listing {
  name: string;
  type: number;
  next(): boolean;
  close(): void;
}

/** Node's Dir on the directory's descriptor (as /proc/self/fd/N); closing it closes the descriptor too. */
class JsListing implements Listing {
  name = '';
  type = DT.UNKNOWN as number;
  private readonly dir: Dir;
  constructor(private readonly fd: number, private readonly directoriesOnly: boolean) {
    this.dir = opendirSync(`/proc/self/fd/${fd}`);
  }
  next(): boolean {
    for (let entry = this.dir.readSync(); entry; entry = this.dir.readSync()) {
      if (this.directoriesOnly && !entry.isDirectory()) continue;
      this.name = entry.name;
      this.type = entry.isDirectory() ? DT.DIR : entry.isFile() ? DT.REG : entry.isSymbolicLink() ? DT.LNK : entry.isFIFO() ? DT.FIFO : DT.UNKNOWN;
      return true;
    }
    return false;
  }
  close(): void {
    this.dir.closeSync();
    closeSync(this.fd);
  }
}

/** getdents64 on the directory's own descriptor, a batch per call; closing it closes the descriptor. */
class NativeListing implements Listing {
  name = '';
  type = DT.UNKNOWN as number;
  private names: string[] = [];
  private at = 0;
  private readonly types = new Uint8Array(DIR_BATCH);
  constructor(private readonly fd: number, private readonly directoriesOnly: boolean) {}
  next(): boolean {
    if (this.at === this.names.length) {
      const got = addon!.readDir(this.fd, this.types, this.directoriesOnly);
      if (typeof got === 'number') throw errnoError(-got, 'scandir');
      if (got.length === 0) return false;
      this.names = got;
      this.at = 0;
    }
    this.type = this.types[this.at]!;
    this.name = this.names[this.at++]!;
    return true;
  }
  close(): void {
    close(this.fd);
  }
}

interface Frame extends DirHandle {
  listing: Listing;
}

/**
 * Depth-first walk of directory trees under the roots, the one way ingest, verify, embargo lifting
 * and the worker pool traverse. Each top is opened with openBeneath; every directory below is
 * opened relative to its parent's descriptor with O_NOFOLLOW|O_DIRECTORY and listed as it is read
 * (memory flat in the size of a directory); only the directories on the current branch are held
 * open. Symlinks are never followed.
 */
export function* walkSafely(tops: string[], roots: string[], options: WalkOptions = {}): Generator<WalkItem> {
  const recursive = options.recursive !== false;
  const wantFiles = options.files !== false;
  for (const top of tops) {
    let first: OpenedFile;
    try {
      first = openBeneath(top, roots, 'directory');
    } catch (err) {
      yield { kind: 'problem', path: top, reason: err instanceof Refused ? err.message : `cannot open directory: ${(err as Error).message}` };
      continue;
    }
    const stack: Frame[] = [];
    /** the current directory's regular files not yet yielded */
    let files: string[] = [];
    const filesOf = (frame: Frame): WalkItem => {
      const item = { kind: 'files' as const, path: frame.realPath, dir: { fd: frame.fd, realPath: frame.realPath }, names: files };
      files = [];
      return item;
    };
    const push = (d: DirHandle): boolean => {
      try {
        stack.push({ fd: d.fd, realPath: d.realPath, listing: addon ? new NativeListing(d.fd, !wantFiles) : new JsListing(d.fd, !wantFiles) });
        return true;
      } catch (err) {
        close(d.fd);
        return false;
      }
    };
    if (options.directories) yield { kind: 'directory', path: first.realPath };
    if (!push(first)) {
      yield { kind: 'problem', path: top, reason: 'cannot list directory' };
      continue;
    }
    try {
      while (stack.length) {
        const frame = stack[stack.length - 1]!;
        const listing = frame.listing;
        let more;
        try {
          more = listing.next();
        } catch (err) {
          yield { kind: 'problem', path: frame.realPath, reason: `cannot read directory: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
          more = false;
        }
        if (!more) {
          if (files.length) yield filesOf(frame); // while its descriptor is still open
          stack.pop();
          listing.close();
          continue;
        }
        const name = listing.name;
        const type = listing.type;
        if (type === DT.REG) {
          if (!wantFiles) continue;
          files.push(name);
          if (files.length === FILES_AT_ONCE) yield filesOf(frame);
          continue;
        }
        if (type === DT.DIR && !recursive) continue;
        if (files.length) yield filesOf(frame); // before a subdirectory's frame is pushed
        const path = `${frame.realPath}/${name}`;
        if (type === DT.DIR) {
          let child: OpenedFile;
          try {
            child = openChild(frame, name, 'directory');
          } catch (err) {
            yield { kind: 'problem', path, reason: err instanceof Refused ? err.message : `cannot open directory: ${(err as Error).message}` };
            continue;
          }
          if (options.directories) yield { kind: 'directory', path };
          if (!push({ fd: child.fd, realPath: child.realPath })) yield { kind: 'problem', path, reason: 'cannot list directory' };
        } else {
          yield { kind: 'other', path, reason: type === DT.LNK ? 'is a symbolic link' : type === DT.FIFO ? 'is a FIFO' : 'is not a regular file' };
        }
      }
    } finally {
      // an abandoned walk (an exception in the consumer) closes what it holds
      for (const frame of stack.splice(0)) frame.listing.close();
    }
  }
}
