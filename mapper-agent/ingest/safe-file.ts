/**
 * The only code that changes ownership or modes. The agent runs as root in directories that
 * instruments (and so, potentially, attackers) can write, so every change goes through a file
 * descriptor that is proven to be a single-link regular file under a configured data root:
 *  - open with O_NOFOLLOW (a symlink as the last component fails with ELOOP) and O_NONBLOCK (a
 *    planted FIFO cannot block the agent), O_NOCTTY (a planted tty cannot become ours);
 *  - fstat the descriptor: regular file only, st_nlink must be 1 (a hard link to a file outside
 *    the roots, e.g. /etc/shadow, looks like a regular file here);
 *  - readlink /proc/self/fd/N: the file really is under a root (O_NOFOLLOW protects only the last
 *    component; a symlinked directory on the way would otherwise lead outside);
 *  - fchown/fchmod on that descriptor, never chown/chmod on a path.
 */
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, opendirSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { sep } from 'node:path';
import type { Ownership } from '../../core/embargo/policy.js';

export class Refused extends Error {
  override readonly name = 'Refused';
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

export interface OpenedFile {
  fd: number;
  stat: Stats;
  /** the path the kernel resolves the descriptor to */
  realPath: string;
}

export function underRoot(realPath: string, roots: string[]): boolean {
  return roots.some((root) => realPath.startsWith(root.endsWith(sep) ? root : root + sep));
}

/** Open a file for inspection and change, or throw Refused with the reason. */
export function openSafely(path: string, roots: string[], kind: 'file' | 'directory' = 'file'): OpenedFile {
  let fd: number;
  try {
    fd = openSync(path, kind === 'directory' ? OPEN_FLAGS | constants.O_DIRECTORY : OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Refused('is a symbolic link');
    if (code === 'ENOTDIR') throw new Refused('is not a directory');
    if (code === 'ENXIO') throw new Refused('is a socket or device without a reader');
    throw new Refused(`cannot open: ${code ?? (err as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (kind === 'file' && !stat.isFile()) throw new Refused(stat.isFIFO() ? 'is a FIFO' : stat.isCharacterDevice() || stat.isBlockDevice() ? 'is a device' : stat.isSocket() ? 'is a socket' : 'is not a regular file');
    if (kind === 'directory' && !stat.isDirectory()) throw new Refused('is not a directory');
    if (kind === 'file' && stat.nlink !== 1) throw new Refused(`has ${stat.nlink} hard links`);
    const realPath = readlinkSync(`/proc/self/fd/${fd}`);
    const isRoot = kind === 'directory' && roots.includes(realPath);
    if (!isRoot && !underRoot(realPath, roots)) throw new Refused(`resolves to ${realPath}, outside the data roots`);
    return { fd, stat, realPath };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * Open `name` inside a directory we hold open and have already verified: the kernel resolves
 * /proc/self/fd/N/name within that exact directory inode (like openat(2)), so no path component
 * can be swapped for a symlink between the check and the open, and no per-file readlink is needed.
 */
export function openInDirectory(dirFd: number, dirRealPath: string, name: string): OpenedFile {
  if (name.includes('/') || name === '.' || name === '..') throw new Refused('is not a plain file name');
  let fd: number;
  try {
    fd = openSync(`/proc/self/fd/${dirFd}/${name}`, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Refused('is a symbolic link');
    if (code === 'ENXIO') throw new Refused('is a socket or device without a reader');
    throw new Refused(`cannot open: ${code ?? (err as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Refused(stat.isFIFO() ? 'is a FIFO' : stat.isCharacterDevice() || stat.isBlockDevice() ? 'is a device' : stat.isSocket() ? 'is a socket' : 'is not a regular file');
    if (stat.nlink !== 1) throw new Refused(`has ${stat.nlink} hard links`);
    return { fd, stat, realPath: `${dirRealPath}/${name}` };
  } catch (err) {
    closeSync(fd);
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

/** Apply owner, group and mode through the descriptor (chown first: it clears setuid/setgid bits). */
export function applyOwnership(fd: number, target: Ownership): void {
  fchownSync(fd, target.uid, target.gid);
  fchmodSync(fd, target.mode & 0o777);
}

export function ownershipOf(stat: Stats): Ownership {
  return { uid: stat.uid, gid: stat.gid, mode: stat.mode & 0o7777 };
}

export function close(fd: number): void {
  closeSync(fd);
}

export type WalkItem =
  /** a regular-file entry; open it with open() (through the verified directory descriptor) */
  | { kind: 'file'; path: string; open: () => OpenedFile }
  /** an entry that is neither a directory nor a regular file (symlink, FIFO, device, socket) */
  | { kind: 'other'; path: string; reason: string }
  /** a directory that could not be opened or read */
  | { kind: 'problem'; path: string; reason: string };

/**
 * Depth-first walk of directory trees under the roots, the one way ingest and embargo lifting
 * traverse: each directory is opened once with O_NOFOLLOW|O_DIRECTORY and its real path checked
 * against the roots, its entries are listed and its files opened through that descriptor, so a
 * directory swapped for a symlink mid-walk leads nowhere. Symlinks are never followed. With
 * recursive false only the files directly in `tops` are yielded (the worker pool hands out
 * directories one by one).
 */
export function* walkSafely(tops: string[], roots: string[], recursive = true): Generator<WalkItem> {
  const stack = [...tops];
  while (stack.length) {
    const dir = stack.pop()!;
    let opened;
    try {
      opened = openSafely(dir, roots, 'directory');
    } catch (err) {
      yield { kind: 'problem', path: dir, reason: err instanceof Refused ? err.message : `cannot open directory: ${(err as Error).message}` };
      continue;
    }
    const { fd: dirFd, realPath } = opened;
    let handle;
    try {
      handle = opendirSync(`/proc/self/fd/${dirFd}`);
      for (let entry = handle.readSync(); entry; entry = handle.readSync()) {
        const name = entry.name;
        const path = `${realPath}/${name}`;
        if (entry.isDirectory()) {
          if (recursive) stack.push(path);
        } else if (entry.isFile()) {
          yield { kind: 'file', path, open: () => openInDirectory(dirFd, realPath, name) };
        } else {
          yield { kind: 'other', path, reason: entry.isSymbolicLink() ? 'is a symbolic link' : entry.isFIFO() ? 'is a FIFO' : 'is not a regular file' };
        }
      }
    } catch (err) {
      yield { kind: 'problem', path: dir, reason: `cannot read directory: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    } finally {
      handle?.closeSync();
      closeSync(dirFd);
    }
  }
}
