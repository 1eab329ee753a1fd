/**
 * Loads the native file primitives (guard-fs.c, built by `npm ci` into build/Release/guard_fs.node)
 * for safe-file.ts, which uses them when they load and its pure-JS path otherwise.
 * CAMPAIGN_GUARD_FS=js forces the pure-JS path; =native requires the addon (an error if it is not
 * built). The addon returns errno values; errnoError() makes the same errors Node's fs would.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSystemErrorMap } from 'node:util';

export interface GuardFs {
  /** see guard-fs.c: fd, or -1 with statOut[PHASE] and statOut[ERRNO] set */
  openAt(dirFd: number, name: string, flags: number, statOut: Float64Array, readBuf?: Buffer): number;
  /** openAt(dirFd, names[i], FILE) for each name in one call: fds[i], statOut[i * S.SLOTS ..], first bytes into readBuf[i * block ..]; returns names.length */
  openFiles(dirFd: number, names: string[], statOut: Float64Array, fds: Int32Array, readBuf?: Buffer, block?: number): number;
  /** 0, or -(errno * 4 + 1) (fchown failed) / -(errno * 4 + 2) (fchmod failed) / -(errno * 4 + 3) (fstat failed); stamps: status before [0..2] and after [3..5] */
  apply(fd: number, uid: number, gid: number, mode: number, chown: boolean, stamps?: Float64Array): number;
  /** apply() for each of fds in one call: plan[i * 4 ..] = uid, gid, mode, flags (APPLY.CHOWN | APPLY.WATCHED); stamps[i * 6 ..]; results[i] as apply returns */
  applyAll(fds: Int32Array, plan: Uint32Array, stamps: Float64Array, results: Int32Array): number;
  /** fstatat(dirFd, name, AT_SYMLINK_NOFOLLOW) into statOut: 0, or -errno (-EINVAL for a name that is not one plain name) */
  statAt(dirFd: number, name: string, statOut: Float64Array): number;
  /** statAt for each name in one call: results[i] = 0 (statOut[i * S.SLOTS ..] filled) or -errno */
  statFiles(dirFd: number, names: string[], statOut: Float64Array, results: Int32Array): number;
  /** bytes read from offset 0, or -errno */
  readAt(fd: number, buf: Buffer): number;
  /** 0 or -errno */
  close(fd: number): number;
  /** 0, or -errno of the first failure; sorts `fds` in place (runs of consecutive descriptors: one close_range each) */
  closeAll(fds: Int32Array): number;
  /** the next names (types[i] = DT_* of names[i]; with directoriesOnly, only directories); [] at the end; -errno on error */
  readDir(fd: number, types: Uint8Array, directoriesOnly?: boolean): string[] | number;
  statSlots: number;
  /** guard-fs.c's GUARD_FS_VERSION */
  version: number;
}

/** guard-fs.c's GUARD_FS_VERSION: a build of another version is not loaded */
export const GUARD_FS_VERSION = 4;

/** statOut slots */
export const S = { DEV: 0, INO: 1, MODE: 2, NLINK: 3, UID: 4, GID: 5, SIZE: 6, MTIME_MS: 7, CTIME_MS: 8, ERRNO: 9, PHASE: 10, READ: 11, SLOTS: 12 } as const;
export const PHASE = { OK: 0, OPEN: 1, FSTAT: 2, REJECTED: 3, NAME: 4 } as const;
export const OPEN = { FILE: 0, DIRECTORY: 1, PATH: 2 } as const;
/** applyAll's plan: four numbers a change, the last of them flags */
export const APPLY = { SLOTS: 4, CHOWN: 1, WATCHED: 2 } as const;
export const DT = { UNKNOWN: 0, FIFO: 1, CHR: 2, DIR: 4, BLK: 6, REG: 8, LNK: 10, SOCK: 12 } as const;
/** readDir's types array must be at least this long (guard-fs.c MIN_TYPES) */
export const DIR_BATCH = 2048;

export interface Backend {
  addon: GuardFs | undefined;
  /** 'native' or 'js', and why */
  name: 'native' | 'js';
  why: string;
}

function load(): Backend {
  const choice = process.env.CAMPAIGN_GUARD_FS ?? '';
  if (choice === 'js') return { addon: undefined, name: 'js', why: 'CAMPAIGN_GUARD_FS=js' };
  if (choice !== '' && choice !== 'native') throw new Error(`CAMPAIGN_GUARD_FS must be "js" or "native", not "${choice}"`);
  const here = dirname(fileURLToPath(import.meta.url));
  // from mapper-agent/ingest/native (tsx) or dist/mapper-agent/ingest/native (built): the package root
  const candidates = ['../../..', '../../../..'].map((up) => resolve(here, up, 'build/Release/guard_fs.node'));
  let problem = "not built (no build/Release/guard_fs.node: npm run build:native)";
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    try {
      const addon = createRequire(import.meta.url)(file) as GuardFs;
      if (addon.statSlots !== S.SLOTS || addon.version !== GUARD_FS_VERSION || (['openAt', 'openFiles', 'statAt', 'statFiles', 'apply', 'applyAll', 'readAt', 'close', 'closeAll', 'readDir'] as const).some((f) => typeof addon[f] !== 'function')) throw new Error('built from another version of guard-fs.c: npm run build:native');
      return { addon, name: 'native', why: file };
    } catch (err) {
      problem = `${file} does not load: ${(err as Error).message}`;
    }
  }
  if (choice === 'native') throw new Error(`CAMPAIGN_GUARD_FS=native, but the native file primitives are ${problem}`);
  return { addon: undefined, name: 'js', why: problem };
}

export const backend: Backend = load();

const errors = getSystemErrorMap();

/** The error Node's fs would throw for this errno in this system call (same code, errno, syscall and message). */
export function errnoError(errno: number, syscall: string): NodeJS.ErrnoException {
  const [code, description] = errors.get(-errno) ?? [`E${errno}`, 'unknown error'];
  const err: NodeJS.ErrnoException = new Error(`${code}: ${description}, ${syscall}`);
  err.errno = -errno;
  err.code = code;
  err.syscall = syscall;
  return err;
}
