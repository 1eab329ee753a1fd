/**
 * Replaces a file so that a reader (dCache polls the mtime) sees either the complete old or the
 * complete new content, never a mix, whatever happens to this process: the new content is
 * streamed into a temp file in the same directory (hashed and counted on the way), fsynced, the
 * old file is kept as <name>.previous (a hard link: no copy), the temp file is renamed over the
 * name, and the directory is fsynced. When the new content hashes the same as the old one, the
 * temp file is dropped: the mtime moves only when the map really changed. Memory stays flat in
 * the size of the file.
 */
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, fsyncSync, linkSync, lstatSync, openSync, readdirSync, readFileSync, readSync, renameSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { CampaignGuardError } from '../../core/errors.js';

/** A new map would drop more lines than allowed; the old one stays in place. */
export class ShrinkRefusedError extends CampaignGuardError {
  static override code = 'ERR_SHRINK_REFUSED';
  override readonly code = 'ERR_SHRINK_REFUSED';
  override readonly name = 'ShrinkRefusedError';
  constructor(readonly oldLines: number, readonly newLines: number, readonly maxFraction: number, readonly explained = 0) {
    super(`refusing to replace a map of ${oldLines} lines with one of ${newLines}: ${oldLines - newLines - explained} lines disappeared that the directory does not explain ` +
      `(${explained} left because their account or identity is no longer active; limit ${(100 * maxFraction).toFixed(1)}% of the map); check the directory, or run with --force`);
  }
}

export interface WriteOptions {
  /**
   * largest fraction of lines a new version may drop without the directory explaining why (0..1);
   * an empty map over a non-empty one is refused unless every line is explained
   */
  maxShrinkFraction?: number;
  /** old lines the directory explains the removal of (suspended accounts, revoked identities, ...): never count against the guard */
  explained?: number;
  /** a map of fewer lines than this never trips the fraction (a small site removing one of two users is normal) */
  floor?: number;
  force?: boolean;
  /** owner, group and mode of the new file; what is not given is kept from the file it replaces (else: this process's, 0644) */
  ownership?: FileOwnership;
}

export interface FileOwnership {
  uid?: number;
  gid?: number;
  mode?: number;
}

export interface WriteResult {
  changed: boolean;
  oldLines: number;
  newLines: number;
}

/** Where producers write text; counts map lines (non-empty, not starting with #) and hashes as it goes. */
export interface TextSink {
  write(text: string): void;
  /** the same as write() of their text: whole UTF-8 sequences, the sink keeps no reference to them */
  writeBytes(bytes: Uint8Array): void;
}

const TEMP_MARK = '.cg-tmp-';
const CHUNK = 1 << 16;

/** Counts lines that are not blank and do not start with # (the shrink guard's unit), across chunk boundaries. */
class LineCounter {
  lines = 0;
  private lineHasContent = false;
  private lineIsComment = false;
  feed(text: string): void {
    for (let i = 0; i < text.length; i++) this.see(text.charCodeAt(i));
  }
  /** feed() of UTF-8 bytes: the characters it looks at are ASCII, and no byte of a longer sequence is one of them. */
  feedBytes(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.see(bytes[i]!);
  }
  private see(c: number): void {
    if (c === 10) {
      if (this.lineHasContent && !this.lineIsComment) this.lines++;
      this.lineHasContent = false;
      this.lineIsComment = false;
    } else if (c !== 32 && c !== 9 && c !== 13) {
      if (!this.lineHasContent && c === 35) this.lineIsComment = true;
      this.lineHasContent = true;
    }
  }
  end(): number {
    if (this.lineHasContent && !this.lineIsComment) this.lines++;
    this.lineHasContent = false;
    return this.lines;
  }
}

export function countMapLines(content: string): number {
  const c = new LineCounter();
  c.feed(content);
  return c.end();
}

/** Line count and hash of an existing file, read in chunks; undefined when it does not exist. */
export function fileFacts(path: string): { lines: number; sha256: string } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const hash = createHash('sha256');
    const counter = new LineCounter();
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      counter.feedBytes(buf.subarray(0, n));
    }
    return { lines: counter.end(), sha256: hash.digest('hex') };
  } finally {
    closeSync(fd);
  }
}

export function readCurrent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The guard on its own (checked before writing any of several outputs, and by dry runs). */
export function checkShrink(oldLines: number, newLines: number, options: WriteOptions = {}): void {
  const max = options.maxShrinkFraction ?? 0.1;
  const explained = Math.min(options.explained ?? 0, oldLines);
  if (options.force || oldLines === 0) return;
  const unexplained = oldLines - newLines - explained;
  if (unexplained <= 0) return;
  if ((newLines === 0 && explained < oldLines) || (oldLines >= (options.floor ?? 20) && unexplained > oldLines * max)) {
    throw new ShrinkRefusedError(oldLines, newLines, max, explained);
  }
}

/**
 * How many lines of the current file have one of these keys (the map's predicate, `dn:…`/`oidc:…`):
 * in the multimap the first, quoted token; in a grid-mapfile `"DN" user` the key is dn:DN.
 */
export function countKeysIn(path: string, keys: ReadonlySet<string>, format: 'multimap' | 'grid-mapfile'): number {
  if (!keys.size) return 0;
  const text = readCurrent(path);
  if (!text) return 0;
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('"')) continue;
    let key: string | undefined;
    if (format === 'grid-mapfile') {
      const end = line.lastIndexOf('"');
      key = end > 0 ? `dn:${line.slice(1, end)}` : undefined;
    } else {
      const m = /^"((?:[^"\\]|\\.)*)"/.exec(line);
      key = m ? m[1]!.replace(/\\(.)/g, '$1') : undefined;
    }
    if (key !== undefined && keys.has(key)) n++;
  }
  return n;
}

class TempFile implements TextSink {
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  private used = 0;
  readonly hash: Hash = createHash('sha256');
  readonly counter = new LineCounter();
  constructor(readonly fd: number) {}
  write(text: string): void {
    this.counter.feed(text);
    if (text.length * 3 > CHUNK - this.used) {
      this.flush();
      if (text.length * 3 > CHUNK) {
        this.put(Buffer.from(text, 'utf8'));
        return;
      }
    }
    this.used += this.buf.write(text, this.used, 'utf8');
  }
  writeBytes(bytes: Uint8Array): void {
    this.counter.feedBytes(bytes);
    if (bytes.length > CHUNK - this.used) {
      this.flush();
      if (bytes.length > CHUNK) return this.put(bytes);
    }
    this.buf.set(bytes, this.used);
    this.used += bytes.length;
  }
  flush(): void {
    if (this.used) this.put(this.buf.subarray(0, this.used));
    this.used = 0;
  }
  private put(data: Uint8Array): void {
    this.hash.update(data);
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
  }
}

/** Stream new content from `produce` into place atomically (see the module comment). */
export function replaceFileAtomically(path: string, produce: (sink: TextSink) => void, options: WriteOptions = {}): WriteResult {
  removeStaleTemps(path);
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  let sink: TempFile;
  try {
    takeOwnership(fd, path, options.ownership ?? {});
    sink = new TempFile(fd);
    produce(sink);
    sink.flush();
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(temp);
    throw err;
  }
  closeSync(fd);
  const newLines = sink.counter.end();
  const sha256 = sink.hash.digest('hex');
  const old = fileFacts(path);
  const oldLines = old?.lines ?? 0;
  try {
    checkShrink(oldLines, newLines, options);
  } catch (err) {
    unlinkSync(temp);
    throw err;
  }
  if (old && old.sha256 === sha256) {
    unlinkSync(temp);
    return { changed: false, oldLines, newLines };
  }
  if (old) keepPrevious(path);
  renameSync(temp, path);
  fsyncDirectory(dir);
  return { changed: true, oldLines, newLines };
}

export function writeFileAtomically(path: string, content: string, options: WriteOptions = {}): WriteResult {
  return replaceFileAtomically(path, (sink) => sink.write(content), options);
}

/**
 * The new file gets the owner, group and mode asked for, and what is not asked for from the file
 * it replaces: a map that dCache reads as root:dcache 0640 stays so, whatever this process's umask.
 */
function takeOwnership(fd: number, path: string, asked: FileOwnership): void {
  let old: Stats | undefined;
  try {
    old = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (old && !old.isFile()) old = undefined;
  const uid = asked.uid ?? old?.uid;
  const gid = asked.gid ?? old?.gid;
  const mine = fstatSync(fd);
  if ((uid !== undefined && uid !== mine.uid) || (gid !== undefined && gid !== mine.gid)) fchownSync(fd, uid ?? mine.uid, gid ?? mine.gid);
  fchmodSync(fd, (asked.mode ?? (old ? old.mode & 0o7777 : 0o644)) & 0o7777);
}

/** <path>.previous becomes the current file (same inode), replacing an older .previous atomically. */
function keepPrevious(path: string): void {
  const link = join(dirname(path), `.${basename(path)}${TEMP_MARK}prev-${process.pid}`);
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
