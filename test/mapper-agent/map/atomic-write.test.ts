import { expect } from 'chai';
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ShrinkRefusedError, writeFileAtomically } from '../../../mapper-agent/map/atomic-write.js';

const map = (n: number, tag = 'v') => Array.from({ length: n }, (_, i) => `"dn:/CN=user${i}" username:u${i} uid:${10000 + i} gid:${10000 + i},true # ${tag}`).join('\n') + '\n';

describe('mapper-agent/map/atomic-write', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cg-aw-'));
    file = join(dir, 'multi-mapfile');
  });

  it('keeps the replaced file\'s owner, group and mode, whatever the umask; configured ones win', function () {
    if (process.getuid?.() !== 0) this.skip();
    writeFileAtomically(file, map(10, 'a'));
    chownSync(file, 0, 4242); // root:dcache
    chmodSync(file, 0o640);
    const umask = process.umask(0o077);
    try {
      writeFileAtomically(file, map(10, 'b'));
    } finally {
      process.umask(umask);
    }
    const st = statSync(file);
    expect([st.uid, st.gid, (st.mode & 0o7777).toString(8)]).to.deep.equal([0, 4242, '640']);
    writeFileAtomically(file, map(10, 'c'), { ownership: { gid: 4343, mode: 0o644 } });
    const again = statSync(file);
    expect([again.uid, again.gid, (again.mode & 0o7777).toString(8)]).to.deep.equal([0, 4343, '644']);
  });

  it('a new file without configured ownership is 0644 whatever the umask', () => {
    const umask = process.umask(0o077);
    try {
      writeFileAtomically(file, map(3));
    } finally {
      process.umask(umask);
    }
    expect((statSync(file).mode & 0o7777).toString(8)).to.equal('644');
  });

  it('leaves an unchanged file untouched: same inode, same mtime', async () => {
    writeFileAtomically(file, map(10));
    const before = statSync(file);
    await sleep(20);
    expect(writeFileAtomically(file, map(10))).to.deep.include({ changed: false });
    const after = statSync(file);
    expect([after.ino, after.mtimeMs]).to.deep.equal([before.ino, before.mtimeMs]);
  });

  it('replaces a changed file with a new inode and keeps the old one as .previous', () => {
    writeFileAtomically(file, map(10, 'a'));
    const old = statSync(file);
    expect(writeFileAtomically(file, map(10, 'b'))).to.deep.include({ changed: true, oldLines: 10, newLines: 10 });
    expect(statSync(file).ino).to.not.equal(old.ino);
    expect(statSync(`${file}.previous`).ino).to.equal(old.ino);
    expect(readFileSync(`${file}.previous`, 'utf8')).to.equal(map(10, 'a'));
    expect(readdirSync(dir).sort()).to.deep.equal(['multi-mapfile', 'multi-mapfile.previous']);
  });

  it('refuses a shrink beyond the limit and an empty map, unless forced', () => {
    writeFileAtomically(file, map(100));
    expect(() => writeFileAtomically(file, map(89), { maxShrinkFraction: 0.1 })).to.throw(ShrinkRefusedError, /100 lines with one of 89/);
    expect(readFileSync(file, 'utf8')).to.equal(map(100));
    writeFileAtomically(file, map(90), { maxShrinkFraction: 0.1 });
    expect(() => writeFileAtomically(file, '# header only\n', { maxShrinkFraction: 1 })).to.throw(ShrinkRefusedError);
    expect(writeFileAtomically(file, '# header only\n', { force: true })).to.deep.include({ changed: true, newLines: 0 });
  });

  it('a kill -9 at any moment leaves the complete old or the complete new file, and the next write cleans up', async function () {
    this.timeout(60000);
    const oldContent = map(20000, 'old');
    const newContent = map(20000, 'new');
    const script = `import { writeFileAtomically } from ${JSON.stringify(new URL('../../../mapper-agent/map/atomic-write.ts', import.meta.url).pathname)};
      import { readFileSync } from 'node:fs';
      const [file, content] = [process.argv[1], readFileSync(process.argv[2], 'utf8')];
      process.stdout.write('ready\\n');
      writeFileAtomically(file, content, { force: true });
      process.stdout.write('wrote\\n');
      for (;;) { writeFileAtomically(file, content + '#x\\n', { force: true }); writeFileAtomically(file, content, { force: true }); }`;
    const contentFile = join(dir, 'new-content');
    writeFileSync(contentFile, newContent);
    const seen = new Set<string>();
    for (let round = 0; round < 8; round++) {
      writeFileAtomically(file, oldContent, { force: true });
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, file, contentFile], { stdio: ['ignore', 'pipe', 'inherit'] });
      let said = '';
      const told = (word: string) => new Promise<void>((resolve) => {
        const look = () => (said.includes(word) ? (child.stdout.off('data', onData), resolve()) : undefined);
        const onData = (d: Buffer) => ((said += d.toString()), look());
        child.stdout.on('data', onData);
        look();
      });
      // Half the rounds are killed at any moment from the start (before, during or after the first
      // write); the other half only after a complete write, so a slow machine still kills mid-rewrite.
      await told(round % 2 === 0 ? 'ready' : 'wrote');
      await sleep(5 + round * 7);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const now = readFileSync(file, 'utf8');
      expect([oldContent, newContent, `${newContent}#x\n`], `round ${round}`).to.include(now);
      seen.add(now === oldContent ? 'old' : 'new');
      writeFileAtomically(file, oldContent, { force: true });
      expect(readdirSync(dir).filter((n) => n.includes('.cg-tmp-')), 'stale temp files cleaned').to.deep.equal([]);
    }
    expect(seen.has('new'), 'some rounds were killed after at least one complete write').to.equal(true);
  });
});
