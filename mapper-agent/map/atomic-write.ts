/**
 * Replaces a file so that a reader (dCache polls the mtime) sees either the complete old or the
 * complete new content, never a mix, whatever happens to this process: write a temp file in the
 * same directory, fsync it, keep the old file as <name>.previous (a hard link: no copy), rename the
 * temp file over the name, fsync the directory. Nothing is written when the content is unchanged,
 * so the mtime moves only when the map really changed.
 */
import { closeSync, constants, fsyncSync, linkSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CampaignGuardError } from '../../core/errors.js';

/** A new map would drop more lines than allowed; the old one stays in place. */
export class ShrinkRefusedError extends CampaignGuardError {
  override readonly name = 'ShrinkRefusedError';
  constructor(readonly oldLines: number, readonly newLines: number, readonly maxFraction: number) {
    super(`refusing to replace a map of ${oldLines} lines with one of ${newLines} (drops ${(100 * (1 - newLines / oldLines)).toFixed(1)}%, limit ${(100 * maxFraction).toFixed(1)}%); check the directory, or run with --force`);
  }
}

export interface WriteOptions {
  /** largest fraction of lines a new version may drop (0..1); an empty map over a non-empty one is always refused */
  maxShrinkFraction?: number;
  force?: boolean;
  mode?: number;
  /** lines that count for the shrink guard (default: non-empty lines not starting with #) */
  countLines?: (content: string) => number;
}

export interface WriteResult {
  changed: boolean;
  oldLines: number;
  newLines: number;
}

const TEMP_MARK = '.cg-tmp-';

export function countMapLines(content: string): number {
  let n = 0;
  for (const line of content.split('\n')) if (line.trim() && !line.trimStart().startsWith('#')) n++;
  return n;
}

export function readCurrent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Check the guard without writing (dry runs use this too). */
export function checkShrink(oldContent: string | undefined, newContent: string, options: WriteOptions = {}): WriteResult {
  const count = options.countLines ?? countMapLines;
  const oldLines = oldContent === undefined ? 0 : count(oldContent);
  const newLines = count(newContent);
  const max = options.maxShrinkFraction ?? 0.1;
  if (!options.force && oldLines > 0 && (newLines === 0 || newLines < oldLines * (1 - max))) {
    throw new ShrinkRefusedError(oldLines, newLines, max);
  }
  return { changed: oldContent !== newContent, oldLines, newLines };
}

export function writeFileAtomically(path: string, content: string, options: WriteOptions = {}): WriteResult {
  removeStaleTemps(path);
  const old = readCurrent(path);
  const result = checkShrink(old, content, options);
  if (!result.changed) return result;

  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, options.mode ?? 0o644);
  try {
    const data = Buffer.from(content, 'utf8');
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(temp);
    throw err;
  }
  closeSync(fd);

  if (old !== undefined) keepPrevious(path);
  renameSync(temp, path);
  fsyncDirectory(dir);
  return result;
}

/** <path>.previous becomes the current file (same inode), replacing an older .previous atomically. */
function keepPrevious(path: string): void {
  const link = `${join(dirname(path), `.${basename(path)}${TEMP_MARK}prev-${process.pid}`)}`;
  try {
    unlinkSync(link);
  } catch {
    /* not there */
  }
  linkSync(path, link);
  renameSync(link, `${path}.previous`);
  // rename() of two links to the same inode (a .previous left by a killed run) does nothing: drop the extra name.
  try {
    unlinkSync(link);
  } catch {
    /* renamed away, as usual */
  }
}

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Temp files left by a process killed mid-write; never read as the map, removed on the next write.
 * A temp file whose writer is still alive (a concurrent sync) is left to it.
 */
export function removeStaleTemps(path: string): string[] {
  const prefix = `.${basename(path)}${TEMP_MARK}`;
  const removed: string[] = [];
  for (const name of readdirSync(dirname(path))) {
    const pid = Number(/(\d+)(?:-[0-9a-f]+)?$/.exec(name)?.[1]);
    if (name.startsWith(prefix) && !(pid !== process.pid && isAlive(pid))) {
      unlinkSync(join(dirname(path), name));
      removed.push(name);
    }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
