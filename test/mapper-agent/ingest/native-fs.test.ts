/**
 * The native file primitives (mapper-agent/ingest/native/guard-fs.c) on real files: their errno
 * and refusal mapping (the same reasons as the pure-JS path), that a bad name is refused before
 * any system call, and that what they report (stat, first block, listing) is what Node's fs says.
 * safe-file.ts is exercised through whichever implementation loaded; the addon is also called
 * directly, so these run with CAMPAIGN_GUARD_FS=js too (as long as it is built).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, fchownSync, fstatSync, linkSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DT, OPEN, PHASE, S, errnoError, type GuardFs } from '../../../mapper-agent/ingest/native/index.js';
import { applyEach, applyOwnership, close, closeAll, fileBackend, FILES_AT_ONCE, openBeneath, openChild, openChildrenStart, openChildStart, readStart, Refused, statChild, statChildren, walkSafely, type DirHandle, type OpenedStart } from '../../../mapper-agent/ingest/safe-file.js';

const addonFile = join(import.meta.dirname, '../../../build/Release/guard_fs.node');

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).to.be.instanceOf(Refused);
    return (err as Error).message;
  }
  throw new Error('not refused');
}

describe('mapper-agent/ingest/native: descriptor-relative file primitives (as root, real files)', function () {
  let base: string;
  let dir: DirHandle;
  let addon: GuardFs | undefined;
  const statOut = new Float64Array(S.SLOTS);

  before(function () {
    if (process.getuid?.() !== 0) this.skip();
    if (existsSync(addonFile)) addon = createRequire(import.meta.url)(addonFile) as GuardFs;
  });
  /** the tests that call the addon directly need it built */
  const direct = (title: string, body: (addon: GuardFs) => void) =>
    it(title, function () {
      if (!addon) this.skip();
      body(addon);
    });
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'cg-native-fs-'));
    writeFileSync(join(base, 'file'), 'SIMPLE  = T');
    writeFileSync(join(base, 'linked'), 'x');
    linkSync(join(base, 'linked'), join(base, 'second-link'));
    symlinkSync('/etc/passwd', join(base, 'symlink'));
    symlinkSync('/etc', join(base, 'dirlink'));
    execFileSync('mkfifo', [join(base, 'fifo')]);
    execFileSync('mknod', [join(base, 'null'), 'c', '1', '3']);
    mkdirSync(join(base, 'sub'));
    dir = openBeneath(base, [tmpdir()], 'directory');
  });
  afterEach(() => {
    close(dir.fd);
    rmSync(base, { recursive: true, force: true });
  });

  it('is built and loads (the pure-JS path is the fallback, not the plan)', function () {
    if (process.env.CAMPAIGN_GUARD_FS === 'js') expect(fileBackend.name).to.equal('js');
    else expect(fileBackend, 'npm run build:native').to.include({ name: 'native' });
    if (process.env.CAMPAIGN_GUARD_FS !== 'js') expect(addon, addonFile).to.not.equal(undefined);
  });

  it(`refuses with the same reasons as the pure-JS path (in use: ${fileBackend.name})`, () => {
    expect(refusal(() => openChild(dir, 'symlink'))).to.equal('is a symbolic link'); // ELOOP
    expect(refusal(() => openChild(dir, 'dirlink', 'directory'))).to.equal('is not a directory'); // O_DIRECTORY|O_NOFOLLOW on a link: ENOTDIR
    expect(refusal(() => openChild(dir, 'file', 'directory'))).to.equal('is not a directory'); // ENOTDIR
    expect(refusal(() => openChild(dir, 'fifo'))).to.equal('is a FIFO'); // opened without blocking (no writer), then refused
    expect(refusal(() => openChild(dir, 'null'))).to.equal('is a device');
    expect(refusal(() => openChild(dir, 'sub'))).to.equal('is not a regular file');
    expect(refusal(() => openChild(dir, 'linked'))).to.equal('has 2 hard links');
    expect(refusal(() => openChild(dir, 'absent'))).to.equal('cannot open: ENOENT');
    for (const bad of ['', '.', '..', 'sub/file', '../etc']) expect(refusal(() => openChild(dir, bad))).to.equal('is not a plain file name');
    expect(refusal(() => openBeneath(join(base, 'symlink'), [base]))).to.equal('is a symbolic link');
    expect(refusal(() => openBeneath(join(base, 'dirlink', 'passwd'), [base]))).to.equal('is not a directory');
  });

  direct('openAt: errno and phase for each refusal; the descriptor is closed on every refusal', (addon) => {
    const fdsBefore = readdirSync('/proc/self/fd').length;
    const open = (name: string, flags = OPEN.FILE as number) => [addon.openAt(dir.fd, name, flags, statOut), statOut[S.PHASE], statOut[S.ERRNO]];
    expect(open('symlink')).to.deep.equal([-1, PHASE.OPEN, 40 /* ELOOP */]);
    expect(open('file', OPEN.DIRECTORY)).to.deep.equal([-1, PHASE.OPEN, 20 /* ENOTDIR */]);
    expect(open('absent')).to.deep.equal([-1, PHASE.OPEN, 2 /* ENOENT */]);
    expect(open('fifo')).to.deep.equal([-1, PHASE.REJECTED, 0]);
    expect(statOut[S.MODE]! & 0o170000).to.equal(0o010000);
    expect(open('linked')).to.deep.equal([-1, PHASE.REJECTED, 0]);
    expect(statOut[S.NLINK]).to.equal(2);
    expect(open('file', OPEN.DIRECTORY | OPEN.PATH)).to.deep.equal([-1, PHASE.NAME, 0]); // a path needs to be absolute
    expect(readdirSync('/proc/self/fd').length).to.equal(fdsBefore);
    expect(errnoError(40, 'open').message).to.equal('ELOOP: too many symbolic links encountered, open');
  });

  direct('a bad name is refused before any system call (a closed descriptor would give EBADF)', (addon) => {
    const closed = openSync(join(base, 'file'), 'r');
    closeSync(closed);
    for (const bad of ['', '.', '..', 'a/b', '/etc/passwd', '../file', 'a\0b']) {
      expect(addon.openAt(closed, bad, OPEN.FILE, statOut), bad).to.equal(-1);
      expect(statOut[S.PHASE], bad).to.equal(PHASE.NAME);
    }
    expect(addon.openAt(closed, 'file', OPEN.FILE, statOut)).to.equal(-1);
    expect([statOut[S.PHASE], statOut[S.ERRNO]]).to.deep.equal([PHASE.OPEN, 9 /* EBADF: this one did reach openat */]);
  });

  it('reports what fstat says, reads the first block in the same call, and applies owner and mode through the descriptor', () => {
    writeFileSync(join(base, 'big'), Buffer.alloc(5000, 'A'));
    const buf = Buffer.alloc(2880);
    const opened = openChildStart(dir, 'big', buf);
    try {
      const st = fstatSync(opened.fd);
      for (const k of ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'size', 'mtimeMs', 'ctimeMs'] as const) expect(opened.stat[k], k).to.equal(st[k]);
      expect(opened.start).to.deep.equal(Buffer.alloc(2880, 'A'));
      expect(opened.realPath).to.equal(`${base}/big`);
      applyOwnership(opened.fd, { uid: 4242, gid: 4343, mode: 0o2640 }, { uid: 0, gid: 0, mode: 0o644 });
      const after = statSync(join(base, 'big'));
      expect([after.uid, after.gid, after.mode & 0o7777]).to.deep.equal([4242, 4343, 0o2640]);
      // Watched: the status just before and just after the change, as fstat gives it (header seals).
      const watched = applyOwnership(opened.fd, { uid: 4242, gid: 4343, mode: 0o640 }, { uid: 4242, gid: 4343, mode: 0o2640 }, true);
      const now = fstatSync(opened.fd);
      expect(watched.before).to.deep.equal({ size: after.size, mtimeMs: after.mtimeMs, ctimeMs: after.ctimeMs });
      expect(watched.after).to.deep.equal({ size: now.size, mtimeMs: now.mtimeMs, ctimeMs: now.ctimeMs });
      expect(now.mode & 0o7777).to.equal(0o640);
    } finally {
      close(opened.fd);
    }
    const short = openChildStart(dir, 'file', buf);
    try {
      expect(String(short.start)).to.equal('SIMPLE  = T');
      expect(readStart(short.fd, Buffer.alloc(4)).toString()).to.equal('SIMP');
    } finally {
      close(short.fd);
    }
  });

  it(`statChild: what lstat says, a symlink not followed, nothing for a name that is not one plain name (in use: ${fileBackend.name})`, () => {
    for (const name of ['file', 'symlink', 'fifo', 'sub', 'second-link']) {
      const st = statChild(dir, name)!;
      const want = lstatSync(join(base, name));
      for (const k of ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'size', 'mtimeMs', 'ctimeMs'] as const) expect(st[k], `${name} ${k}`).to.equal(want[k]);
    }
    for (const bad of ['', '.', '..', 'sub/../file', 'missing']) expect(statChild(dir, bad), bad).to.equal(undefined);
  });

  it(`statChildren: for each name what statChild gives, in one call (in use: ${fileBackend.name})`, () => {
    const names = ['file', 'symlink', 'fifo', 'sub', 'second-link', 'missing', '..', 'a/b', ''];
    const fdsBefore = readdirSync('/proc/self/fd').length;
    const stats = statChildren(dir, names);
    expect(stats.length).to.equal(names.length);
    names.forEach((name, i) => {
      const one = statChild(dir, name);
      if (!one) return expect(stats[i], name).to.equal(undefined);
      for (const k of ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'size', 'mtimeMs', 'ctimeMs'] as const) expect(stats[i]![k], `${name} ${k}`).to.equal(one[k]);
    });
    expect(readdirSync('/proc/self/fd').length, 'nothing opened').to.equal(fdsBefore);
    expect(statChildren(dir, [])).to.deep.equal([]);
  });

  it(`closeAll closes exactly the descriptors given, runs of consecutive ones at once (in use: ${fileBackend.name})`, () => {
    const fds = Array.from({ length: 12 }, () => openSync(join(base, 'file'), 'r'));
    const kept = fds[5]!; // opened among them, not given: must stay open
    const given = fds.filter((fd) => fd !== kept);
    closeAll([...given.slice(6), ...given.slice(0, 6)]); // any order
    for (const fd of given) expect(() => fstatSync(fd), `fd ${fd} closed`).to.throw(/EBADF/);
    expect(fstatSync(kept).isFile(), 'the descriptor between them is untouched').to.equal(true);
    closeSync(kept);
    closeAll([]);
  });

  direct('closeAll: a descriptor listed twice is closed once; -EBADF for one that was not open', (addon) => {
    const a = openSync(join(base, 'file'), 'r');
    expect(addon.closeAll(Int32Array.from([a, a]))).to.equal(0);
    expect(addon.closeAll(Int32Array.from([a]))).to.equal(-9);
    expect(() => addon.closeAll([a] as unknown as Int32Array)).to.throw(TypeError, /Int32Array/);
  });

  direct('statAt: -errno, and -EINVAL before any system call for a name that is not one plain name', (addon) => {
    expect(addon.statAt(dir.fd, 'missing', statOut)).to.equal(-2);
    expect(addon.statAt(dir.fd, 'a/b', statOut)).to.equal(-22);
    expect(addon.statAt(dir.fd, 'x\0y', statOut)).to.equal(-22);
    expect(addon.statAt(-1, 'file', statOut)).to.equal(-9);
    expect(() => addon.statAt(dir.fd, 'file', new Float64Array(3))).to.throw(TypeError, /Float64Array of 12/);
    expect(() => addon.openAt(dir.fd, 'file', OPEN.FILE, [] as unknown as Float64Array)).to.throw(TypeError, /Float64Array of 12/);
  });

  direct('apply and close: errors are the ones Node gives (code, syscall, message)', (addon) => {
    const fd = openSync(join(base, 'file'), 'r');
    closeSync(fd);
    const node = (f: () => void) => {
      try {
        f();
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(addon.apply(fd, 1, 1, 0o644, true)).to.equal(-(9 * 4 + 1));
    expect(addon.apply(fd, 1, 1, 0o644, false)).to.equal(-(9 * 4 + 2));
    expect(addon.apply(fd, 1, 1, 0o644, false, new Float64Array(6)), 'the fstat before the change').to.equal(-(9 * 4 + 3));
    expect(() => addon.apply(fd, 1, 1, 0o644, false, new Float64Array(5))).to.throw(TypeError, /Float64Array of 6/);
    expect(node(() => applyOwnership(fd, { uid: 0, gid: 0, mode: 0o644 }, { uid: 0, gid: 0, mode: 0o644 }, true))).to.equal(node(() => fstatSync(fd)));
    expect(errnoError(9, 'fchown').message).to.equal(node(() => fchownSync(fd, 1, 1)));
    expect(node(() => applyOwnership(fd, { uid: 1, gid: 1, mode: 0o644 }, { uid: 0, gid: 0, mode: 0o644 }))).to.equal(node(() => fchownSync(fd, 1, 1)));
    expect(node(() => close(fd))).to.match(/^EBADF: bad file descriptor, close/);
  });

  direct('readDir: every name with its type, in batches, as readdir sees them', (addon) => {
    const many = join(base, 'many');
    mkdirSync(many);
    for (let i = 0; i < 3000; i++) writeFileSync(join(many, `f${i}-${'x'.repeat(i % 40)}`), '');
    const types = new Uint8Array(2048);
    const fd = addon.openAt(-100, many, OPEN.DIRECTORY | OPEN.PATH, statOut);
    const names: string[] = [];
    let batches = 0;
    try {
      for (let got = addon.readDir(fd, types); typeof got !== 'number' && got.length; got = addon.readDir(fd, types), batches++) {
        got.forEach((n, i) => expect(types[i], n).to.equal(DT.REG));
        names.push(...got);
      }
    } finally {
      addon.close(fd);
    }
    expect(batches).to.be.greaterThan(1);
    expect(names.sort()).to.deep.equal(readdirSync(many).sort());
    const kinds = new Map<string, number>();
    const top = addon.openAt(-100, base, OPEN.DIRECTORY | OPEN.PATH, statOut);
    try {
      for (let got = addon.readDir(top, types); typeof got !== 'number' && got.length; got = addon.readDir(top, types)) got.forEach((n, i) => kinds.set(n, types[i]!));
    } finally {
      addon.close(top);
    }
    expect(Object.fromEntries(kinds)).to.deep.equal({ file: DT.REG, linked: DT.REG, 'second-link': DT.REG, symlink: DT.LNK, dirlink: DT.LNK, fifo: DT.FIFO, null: DT.CHR, sub: DT.DIR, many: DT.DIR });
    expect(addon.readDir(-1, types)).to.equal(-9);
    // directoriesOnly: the directories alone, even where a whole getdents buffer holds only files
    for (let i = 0; i < 3; i++) mkdirSync(join(many, `zdir${i}`));
    const dirs: string[] = [];
    const again = addon.openAt(-100, many, OPEN.DIRECTORY | OPEN.PATH, statOut);
    try {
      for (let got = addon.readDir(again, types, true); typeof got !== 'number' && got.length; got = addon.readDir(again, types, true)) {
        got.forEach((n, i) => expect(types[i], n).to.equal(DT.DIR));
        dirs.push(...got);
      }
    } finally {
      addon.close(again);
    }
    expect(dirs.sort()).to.deep.equal(['zdir0', 'zdir1', 'zdir2']);
    expect(() => addon.readDir(-1, types, 1 as unknown as boolean)).to.throw(TypeError, /directoriesOnly must be a boolean/);
  });

  it('walkSafely yields the same items either way: files, and the rest refused with a reason', () => {
    chmodSync(join(base, 'file'), 0o600);
    const items = [...walkSafely([base], [tmpdir()])].flatMap((i) => (i.kind === 'files' ? i.names.map((n) => `file ${i.path.slice(base.length)}/${n}`) : [`${i.kind} ${i.path.slice(base.length)}${'reason' in i ? `: ${i.reason}` : ''}`])).sort();
    expect(items).to.deep.equal([
      'file /file', 'file /linked', 'file /second-link', // hard links are refused when opened, not when listed
      'other /dirlink: is a symbolic link', 'other /fifo: is a FIFO', 'other /null: is not a regular file', 'other /symlink: is a symbolic link',
    ]);
  });

  it(`walkSafely: a directory's files in items of at most ${FILES_AT_ONCE}, each before anything further down, its directory open while it is current (in use: ${fileBackend.name})`, () => {
    const many = join(base, 'many');
    mkdirSync(join(many, 'inner'), { recursive: true });
    const count = FILES_AT_ONCE * 2 + 7;
    for (let i = 0; i < count; i++) writeFileSync(join(many, `f${i}`), '');
    writeFileSync(join(many, 'inner', 'g'), '');
    const seen: string[] = [];
    const order: string[] = [];
    for (const item of walkSafely([many], [tmpdir()])) {
      if (item.kind !== 'files') continue;
      expect(item.names.length).to.be.within(1, FILES_AT_ONCE);
      expect(fstatSync(item.dir.fd).ino, 'the item\'s directory descriptor is that directory').to.equal(statSync(item.path).ino);
      order.push(item.path.slice(many.length));
      seen.push(...item.names.map((n) => `${item.path.slice(many.length)}/${n}`));
    }
    expect(seen.sort()).to.deep.equal([...Array.from({ length: count }, (_, i) => `/f${i}`), '/inner/g'].sort());
    // three full or partial items, one more where the subdirectory's entry falls between two of them
    expect(order.filter((p) => p === '').length, 'items of the top directory').to.be.within(3, 4);
  });

  it(`openChildrenStart: for each name what openChildStart gives, refusals as errors in their place, first blocks apart, no descriptor left behind (in use: ${fileBackend.name})`, () => {
    writeFileSync(join(base, 'big'), Buffer.alloc(5000, 'B'));
    const names = ['file', 'symlink', 'big', 'linked', 'fifo', 'absent', 'sub', 'null', '..', 'a/b'];
    const fdsBefore = readdirSync('/proc/self/fd').length;
    const blocks = { buf: Buffer.alloc(names.length * 2880, 0), size: 2880 };
    const results = openChildrenStart(dir, names, blocks);
    try {
      expect(results.map((r) => (r instanceof Error ? `${r.name}: ${r.message}` : 'opened'))).to.deep.equal(names.map((n) => {
        try {
          close(openChild(dir, n).fd);
          return 'opened';
        } catch (err) {
          return `${(err as Error).name}: ${(err as Error).message}`;
        }
      }));
      expect(readdirSync('/proc/self/fd').length, 'a descriptor for each file opened, none for a refusal').to.equal(fdsBefore + 2);
      const [file, , big] = results as OpenedStart[];
      expect(String(file!.start)).to.equal('SIMPLE  = T');
      expect(big!.start).to.deep.equal(Buffer.alloc(2880, 'B'));
      expect(big!.realPath).to.equal(`${base}/big`);
      const st = fstatSync(big!.fd);
      for (const k of ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'size', 'mtimeMs', 'ctimeMs'] as const) expect(big!.stat[k], k).to.equal(st[k]);
      const unread = openChildrenStart(dir, ['file'])[0] as OpenedStart;
      close(unread.fd);
      expect(unread.start, 'no blocks: nothing read').to.equal(undefined);
    } finally {
      for (const r of results) if (!(r instanceof Error)) close(r.fd);
    }
  });

  it(`applyEach: what applyOwnership does for each change, a failing one in its place without stopping the others (in use: ${fileBackend.name})`, () => {
    for (const n of ['a', 'b', 'c']) writeFileSync(join(base, n), 'x');
    const [a, b, c] = ['a', 'b', 'c'].map((n) => openChild(dir, n));
    const gone = openSync(join(base, 'file'), 'r');
    closeSync(gone);
    try {
      const results = applyEach([
        { fd: a!.fd, target: { uid: 4242, gid: 4343, mode: 0o2640 }, before: { uid: 0, gid: 0, mode: 0o644 }, watched: false },
        { fd: gone, target: { uid: 1, gid: 1, mode: 0o644 }, before: { uid: 0, gid: 0, mode: 0o644 }, watched: false },
        { fd: b!.fd, target: { uid: 0, gid: 0, mode: 0o604 }, before: { uid: 0, gid: 0, mode: 0o644 }, watched: true },
        { fd: c!.fd, target: { uid: 0, gid: 0, mode: 0o600 }, before: { uid: 0, gid: 0, mode: 0o644 }, watched: false },
      ]);
      expect(results[0]).to.equal(undefined);
      expect((results[1] as Error).message).to.match(/^EBADF: bad file descriptor, fchown/);
      const now = fstatSync(b!.fd);
      expect(results[2]).to.deep.equal({ before: { size: b!.stat.size, mtimeMs: b!.stat.mtimeMs, ctimeMs: b!.stat.ctimeMs }, after: { size: now.size, mtimeMs: now.mtimeMs, ctimeMs: now.ctimeMs } });
      expect(results[3]).to.equal(undefined);
      const modes = ['a', 'b', 'c'].map((n) => statSync(join(base, n)));
      expect(modes.map((m) => [m.uid, m.gid, m.mode & 0o7777])).to.deep.equal([[4242, 4343, 0o2640], [0, 0, 0o604], [0, 0, 0o600]]);
      expect(applyEach([])).to.deep.equal([]);
    } finally {
      for (const o of [a, b, c]) close(o!.fd);
    }
  });

  direct('openFiles, statFiles and applyAll: their arguments are checked (a TypeError, no system call)', (addon) => {
    const fds = new Int32Array(2);
    const out = new Float64Array(2 * S.SLOTS);
    expect(() => addon.openFiles(dir.fd, 'file' as unknown as string[], out, fds)).to.throw(TypeError, /array of strings/);
    expect(() => addon.openFiles(dir.fd, ['file', 'big'], new Float64Array(S.SLOTS), fds)).to.throw(TypeError, /12 per name/);
    expect(() => addon.openFiles(dir.fd, ['file', 'big'], out, new Int32Array(1))).to.throw(TypeError, /one per name/);
    expect(() => addon.openFiles(dir.fd, ['file', 'big'], out, fds, Buffer.alloc(100), 2880)).to.throw(TypeError, /block bytes per name/);
    expect(addon.openFiles(dir.fd, [42 as unknown as string, ''], out, fds)).to.equal(2);
    expect([fds[0], out[S.PHASE], fds[1], out[S.SLOTS + S.PHASE]], 'a name that is not a string, or not a plain name: refused before any call').to.deep.equal([-1, PHASE.NAME, -1, PHASE.NAME]);
    const results = new Int32Array(3);
    expect(() => addon.statFiles(dir.fd, {} as unknown as string[], new Float64Array(3 * S.SLOTS), results)).to.throw(TypeError, /array of strings/);
    expect(() => addon.statFiles(dir.fd, ['a', 'b', 'c'], new Float64Array(S.SLOTS), results)).to.throw(TypeError, /12 per name/);
    expect(() => addon.statFiles(dir.fd, ['a', 'b', 'c'], new Float64Array(3 * S.SLOTS), new Int32Array(2))).to.throw(TypeError, /one per name/);
    expect(addon.statFiles(-1, [7 as unknown as string, 'a/b', 'file'], new Float64Array(3 * S.SLOTS), results)).to.equal(3);
    expect([...results], 'not a string or not a plain name: -EINVAL before any call; EBADF from the one that reached fstatat').to.deep.equal([-22, -22, -9]);
    expect(() => addon.applyAll(Int32Array.from([1]), new Uint32Array(3), new Float64Array(6), new Int32Array(1))).to.throw(TypeError, /4 per descriptor/);
    expect(() => addon.applyAll(Int32Array.from([1]), new Uint32Array(4), new Float64Array(5), new Int32Array(1))).to.throw(TypeError, /6 per descriptor/);
    expect(() => addon.applyAll(Int32Array.from([1]), new Uint32Array(4), new Float64Array(6), new Int32Array(0))).to.throw(TypeError, /one per descriptor/);
  });

  it('walkSafely without files yields the directories alone, symlinked ones never (the pool\'s work list), the same either way', () => {
    mkdirSync(join(base, 'sub', 'deeper'));
    writeFileSync(join(base, 'sub', 'deeper', 'f.fits'), '');
    symlinkSync(join(base, 'sub'), join(base, 'sub', 'loop'));
    const items = [...walkSafely([base], [tmpdir()], { directories: true, files: false })].map((i) => `${i.kind} ${i.path.slice(base.length)}`);
    expect(items.sort()).to.deep.equal(['directory ', 'directory /sub', 'directory /sub/deeper']);
  });
});
