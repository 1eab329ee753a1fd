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
 */
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, opendirSync, openSync, readSync, type Dir, type Stats } from 'node:fs';
import { sep } from 'node:path';
import { CampaignGuardError } from '../../core/errors.js';
import type { Ownership } from '../../core/embargo/policy.js';

/** This file or directory is not one the agent may change; the reason says why. Nothing was changed. */
export class Refused extends CampaignGuardError {
  static override code = 'ERR_REFUSED';
  override readonly code = 'ERR_REFUSED';
  override readonly name = 'Refused';
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
const DIR_FLAGS = OPEN_FLAGS | constants.O_DIRECTORY;

export interface OpenedFile {
  fd: number;
  stat: Stats;
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

function notRegular(stat: Stats): string {
  return stat.isFIFO() ? 'is a FIFO' : stat.isCharacterDevice() || stat.isBlockDevice() ? 'is a device' : stat.isSocket() ? 'is a socket' : 'is not a regular file';
}

function openChecked(path: string, kind: 'file' | 'directory', realPath: string): OpenedFile {
  let fd: number;
  try {
    fd = openSync(path, kind === 'directory' ? DIR_FLAGS : OPEN_FLAGS);
  } catch (err) {
    throw refusedFor(err);
  }
  try {
    const stat = fstatSync(fd);
    if (kind === 'directory' && !stat.isDirectory()) throw new Refused('is not a directory');
    if (kind === 'file' && !stat.isFile()) throw new Refused(notRegular(stat));
    if (kind === 'file' && stat.nlink !== 1) throw new Refused(`has ${stat.nlink} hard links`);
    return { fd, stat, realPath };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Open `name` (a single path component) inside a directory we hold open. */
export function openChild(dir: DirHandle, name: string, kind: 'file' | 'directory' = 'file'): OpenedFile {
  if (name === '' || name.includes('/') || name === '.' || name === '..') throw new Refused('is not a plain file name');
  return openChecked(`/proc/self/fd/${dir.fd}/${name}`, kind, `${dir.realPath}/${name}`);
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
    closeSync(current.fd);
    throw new Refused('is a data root, not a file');
  }
  try {
    for (let i = 0; i < where.names.length; i++) {
      const last = i === where.names.length - 1;
      const next = openChild({ fd: current.fd, realPath: current.realPath }, where.names[i]!, last ? kind : 'directory');
      closeSync(current.fd);
      current = next;
    }
    return current;
  } catch (err) {
    closeSync(current.fd);
    throw err;
  }
}

/** Read up to buf.length bytes from the start of the file (one call for the common one-block header). */
export function readStart(fd: number, buf: Buffer): Buffer {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * Apply owner, group and mode through the descriptor. The mode is set exactly as given, special
 * bits included (directories keep their setgid and sticky bits because their targets carry them);
 * chown comes first because it may clear setuid/setgid on files.
 */
export function applyOwnership(fd: number, target: Ownership, before: Ownership): void {
  if (target.uid !== before.uid || target.gid !== before.gid) fchownSync(fd, target.uid, target.gid);
  fchmodSync(fd, target.mode & 0o7777);
}

export function ownershipOf(stat: Stats): Ownership {
  return { uid: stat.uid, gid: stat.gid, mode: stat.mode & 0o7777 };
}

export function close(fd: number): void {
  closeSync(fd);
}

export type WalkItem =
  /** a regular-file entry; open() opens it through its directory's descriptor (valid while the item is current) */
  | { kind: 'file'; path: string; name: string; dir: DirHandle; open: () => OpenedFile }
  /** a directory reached by the walk (only with `directories: true`) */
  | { kind: 'directory'; path: string }
  /** an entry that is neither a directory nor a regular file (symlink, FIFO, device, socket) */
  | { kind: 'other'; path: string; reason: string }
  /** a directory that could not be opened or read */
  | { kind: 'problem'; path: string; reason: string };

export interface WalkOptions {
  /** false: only the entries directly in each top (the worker pool hands out directories) */
  recursive?: boolean;
  /** also yield every directory (the pool's work list) */
  directories?: boolean;
  /** false: do not yield files (listing directories only) */
  files?: boolean;
}

interface Frame extends DirHandle {
  listing: Dir;
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
    const push = (d: DirHandle): boolean => {
      try {
        stack.push({ ...d, listing: opendirSync(`/proc/self/fd/${d.fd}`) });
        return true;
      } catch (err) {
        closeSync(d.fd);
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
        let entry;
        try {
          entry = frame.listing.readSync();
        } catch (err) {
          yield { kind: 'problem', path: frame.realPath, reason: `cannot read directory: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
          entry = null;
        }
        if (!entry) {
          stack.pop();
          frame.listing.closeSync();
          closeSync(frame.fd);
          continue;
        }
        const name = entry.name;
        const path = `${frame.realPath}/${name}`;
        if (entry.isDirectory()) {
          if (!recursive) continue;
          let child: OpenedFile;
          try {
            child = openChild(frame, name, 'directory');
          } catch (err) {
            yield { kind: 'problem', path, reason: err instanceof Refused ? err.message : `cannot open directory: ${(err as Error).message}` };
            continue;
          }
          if (options.directories) yield { kind: 'directory', path };
          if (!push({ fd: child.fd, realPath: child.realPath })) yield { kind: 'problem', path, reason: 'cannot list directory' };
        } else if (entry.isFile()) {
          if (wantFiles) yield { kind: 'file', path, name, dir: frame, open: () => openChild(frame, name) };
        } else {
          yield { kind: 'other', path, reason: entry.isSymbolicLink() ? 'is a symbolic link' : entry.isFIFO() ? 'is a FIFO' : 'is not a regular file' };
        }
      }
    } finally {
      // an abandoned walk (an exception in the consumer) closes what it holds
      for (const frame of stack.splice(0)) {
        frame.listing.closeSync();
        closeSync(frame.fd);
      }
    }
  }
}
