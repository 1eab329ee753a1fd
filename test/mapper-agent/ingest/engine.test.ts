import { expect } from 'chai';
import { chmodSync, chownSync, linkSync, mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Classifier } from '../../../core/embargo/classify.js';
import { classificationSchema, modesSchema } from '../../../core/embargo/rules.js';
import type { CampaignFacts } from '../../../core/embargo/policy.js';
import { IngestEngine } from '../../../mapper-agent/ingest/engine.js';
import { Journal } from '../../../mapper-agent/ingest/journal.js';
import { fitsFile, fzFile, gzFile } from '../../support/fits.js';

const PI = 12345;
const GID = 23456;
const NOW = new Date('2026-11-24T00:00:00Z');
const campaigns = new Map<string, CampaignFacts>([
  ['flare', { name: 'flare', piUid: PI, gid: GID, embargoEnd: new Date('2027-06-01T00:00:00Z') }],
  ['archive', { name: 'archive', piUid: PI + 1, gid: GID + 1, embargoEnd: new Date('2020-01-01T00:00:00Z') }],
  ['nopi', { name: 'nopi', gid: GID + 2 }],
]);

function mode(p: string): string {
  const st = statSync(p);
  return `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

describe('mapper-agent/ingest/engine (as root, real files)', function () {
  let root: string;
  let outside: string;
  let journal: Journal;
  const engine = (over: Partial<ConstructorParameters<typeof IngestEngine>[0]> = {}) =>
    new IngestEngine({
      roots: [root], classifier: new Classifier(classificationSchema.parse({})), modes: modesSchema.parse({}),
      resolve: (c) => campaigns.get(c), journal, now: NOW, ...over,
    });

  before(function () {
    if (process.getuid?.() !== 0) this.skip();
  });
  beforeEach(() => {
    const base = mkdtempSync(join(tmpdir(), 'cg-ingest-'));
    root = join(base, 'data');
    outside = join(base, 'outside');
    mkdirSync(join(root, 'in'), { recursive: true, mode: 0o700 });
    mkdirSync(outside);
    journal = new Journal(join(base, 'journal.sqlite'), 'test');
  });
  afterEach(() => journal.close());

  it('gives embargoed science data to the PI and campaign group without world read; public data world-readable', async () => {
    const w = (name: string, data: Buffer) => {
      writeFileSync(join(root, 'in', name), data);
      chmodSync(join(root, 'in', name), 0o666); // not left to the umask
      return join(root, 'in', name);
    };
    const sci = w('sci.fits', fitsFile([['CAMPAIGN', 'flare ']], 5000));
    const ql = w('ql.fits', fitsFile([['CAMPAIGN', 'flare'], ['LEVEL', 'QL']]));
    const png = w('sci_ql.png', Buffer.from('png')); // a preview beside its product sci.fits: public, the campaign's
    const orphan = w('preview.png', Buffer.from('png')); // a public name alone makes nothing public
    const old = w('old.fits.gz', gzFile([['PROPOSID', 'archive']]));
    const fz = w('comp.fits.fz', fzFile([['CAMPAIGN', 'flare']]));
    const report = await engine().ingest([join(root, 'in')]);
    expect(mode(sci)).to.equal(`${PI}:${GID} 0640`);
    expect(mode(fz)).to.equal(`${PI}:${GID} 0640`);
    expect(mode(ql)).to.equal(`${PI}:${GID} 0644`);
    expect(mode(png)).to.equal(`${PI}:${GID} 0644`);
    expect(mode(orphan)).to.equal('0:0 0666');
    expect(mode(old)).to.equal(`${PI + 1}:${GID + 1} 0644`);
    expect(statSync(join(root, 'in')).mode & 0o011).to.equal(0o011);
    expect(report).to.include({ files: 6, changed: 5, left: 1, quarantined: 0, refused: 0 });
    expect(journal.counts()).to.deep.include({ applied: 7 }); // 5 files + the 2 directories above them
    // idempotent: a second run changes nothing and journals nothing
    const again = await engine().ingest([join(root, 'in')]);
    expect(again).to.include({ changed: 0, unchanged: 5, left: 1 });
    expect(journal.counts()).to.deep.include({ applied: 7 }); // 5 files + 2 directories
  });

  it('quarantines (no world access, owner kept) unknown campaigns, missing PIs, unreadable and fake FITS, and injected keywords', async () => {
    const files: Record<string, Buffer> = {
      'unknown.fits': fitsFile([['CAMPAIGN', 'nosuch']]),
      'nopi.fits': fitsFile([['CAMPAIGN', 'nopi']]),
      'trunc.fits': fitsFile([['CAMPAIGN', 'flare']]).subarray(0, 200),
      'fake.fits': Buffer.from('SIMPLE  = this is not really fits at all\n'.repeat(100)),
      'inject.fits': fitsFile(["CAMPAIGN= 'x'' / CAMPAIGN = ''flare'"]),
      'shadow.fits': fitsFile(["HIERARCH CAMPAIGN = 'flare'"]),
    };
    for (const [name, data] of Object.entries(files)) {
      writeFileSync(join(root, 'in', name), data);
      chmodSync(join(root, 'in', name), 0o666);
      chownSync(join(root, 'in', name), 777, 888);
    }
    const report = await engine().ingest([join(root, 'in')]);
    for (const name of ['unknown.fits', 'nopi.fits', 'trunc.fits', 'fake.fits', 'inject.fits']) {
      expect(mode(join(root, 'in', name)), name).to.equal('777:888 0660');
    }
    expect(mode(join(root, 'in', 'shadow.fits')), 'HIERARCH CAMPAIGN does not count: no campaign, left alone').to.equal('777:888 0666');
    expect(report.quarantined).to.equal(5);
    expect(report.problems.join('\n')).to.match(/nosuch is not in the directory/).and.match(/no PI account/).and.match(/unreadable FITS header/);
  });

  it('never changes a file outside the roots through a symlink, a hard link, a symlinked directory; refuses FIFOs and devices', async () => {
    const victim = join(outside, 'shadow');
    writeFileSync(victim, fitsFile([['CAMPAIGN', 'flare']]));
    chmodSync(victim, 0o600);
    const before = mode(victim);
    const hardVictim = join(root, 'victim-hard');
    writeFileSync(hardVictim, fitsFile([['CAMPAIGN', 'flare']]));
    chmodSync(hardVictim, 0o600);
    symlinkSync(victim, join(root, 'in', 'link.fits'));
    linkSync(hardVictim, join(root, 'in', 'hard.fits'));
    symlinkSync(outside, join(root, 'in', 'dirlink'));
    execFileSync('mkfifo', [join(root, 'in', 'pipe.fits')]);
    execFileSync('mknod', [join(root, 'in', 'null.fits'), 'c', '1', '3']);
    const report = await engine().ingest([join(root, 'in'), join(root, 'in', 'dirlink', 'shadow'), join(root, 'in', 'link.fits'), victim]);
    expect(mode(victim)).to.equal(before);
    expect(mode(hardVictim)).to.equal('0:0 0600');
    const reasons = report.problems.join('\n');
    expect(reasons).to.match(/link\.fits: refused: is a symbolic link/).and.match(/hard\.fits: refused: has 2 hard links/)
      .and.match(/pipe\.fits: refused: is a FIFO/).and.match(/null\.fits: refused: is not a regular file/)
      .and.match(/dirlink: refused: is a symbolic link/).and.match(/outside the configured data roots/);
    expect(report.changed).to.equal(0);
  });

  it('a dry run reports exactly what would change and changes nothing', async () => {
    const p = join(root, 'in', 'sci.fits');
    writeFileSync(p, fitsFile([['CAMPAIGN', 'flare']]));
    chmodSync(p, 0o644);
    const planned: string[] = [];
    const report = await engine({ dryRun: true, onChange: (c) => planned.push(`${c.path} ${c.before.mode.toString(8)} -> ${c.target.uid}:${c.target.gid} ${c.target.mode.toString(8)}`) }).ingest([join(root, 'in')]);
    expect(planned).to.include(`${p} 644 -> ${PI}:${GID} 640`);
    expect(mode(p)).to.equal('0:0 0644');
    expect(report.changed).to.equal(1);
    expect(journal.counts()).to.deep.equal({});
  });

  it('after kill -9 mid-run, a rerun finishes every file exactly once', async function () {
    this.timeout(60000);
    const n = 3000;
    for (let i = 0; i < n; i++) writeFileSync(join(root, 'in', `f${i}.fits`), fitsFile([['CAMPAIGN', 'flare']]), { mode: 0o644 });
    const script = `
      import { IngestEngine } from ${JSON.stringify(new URL('../../../mapper-agent/ingest/engine.ts', import.meta.url).pathname)};
      import { Journal } from ${JSON.stringify(new URL('../../../mapper-agent/ingest/journal.ts', import.meta.url).pathname)};
      import { Classifier } from ${JSON.stringify(new URL('../../../core/embargo/classify.ts', import.meta.url).pathname)};
      import { classificationSchema } from ${JSON.stringify(new URL('../../../core/embargo/rules.ts', import.meta.url).pathname)};
      import { modesSchema } from ${JSON.stringify(new URL('../../../core/embargo/rules.ts', import.meta.url).pathname)};
      const [root, jfile] = process.argv.slice(1);
      const journal = new Journal(jfile, 'child');
      const e = new IngestEngine({ roots: [root], classifier: new Classifier(classificationSchema.parse({})), modes: modesSchema.parse({}),
        resolve: () => ({ name: 'flare', piUid: ${PI}, gid: ${GID}, embargoEnd: new Date('2030-01-01') }), journal, batchSize: 50,
        onFile: () => {
          if (++globalThis.n === 10) process.stdout.write('go\\n');
          // Never done before the kill, however late it comes on a loaded machine: it then lands here, still mid-run.
          if (globalThis.n === ${n - 500}) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
        } });
      globalThis.n = 0;
      await e.ingest([root + '/in']);`;
    const jfile = join(root, '..', 'crash-journal.sqlite');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, root, jfile], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    await sleep(60);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const done = readdirSync(join(root, 'in')).filter((f) => mode(join(root, 'in', f)) === `${PI}:${GID} 0640`).length;
    expect(done, 'killed part-way').to.be.below(n);

    const j = new Journal(jfile, 'rerun');
    const pendingBefore = j.pending(['ingest', 'quarantine', 'directory']).length;
    const e = engine({ journal: j });
    const resumed = await e.resume();
    expect(resumed.finished + resumed.dropped + resumed.skipped).to.equal(pendingBefore);
    expect(resumed.dropped, 'policy unchanged: no plan is stale').to.equal(0);
    await e.ingest([join(root, 'in')]);
    for (const f of readdirSync(join(root, 'in'))) expect(mode(join(root, 'in', f)), f).to.equal(`${PI}:${GID} 0640`);
    const counts = j.counts();
    expect(counts.planned ?? 0).to.equal(0);
    // every file applied exactly once across both runs
    const applied = new Map<string, number>();
    for (const r of j.all()) if (r.state === 'applied') applied.set(r.path, (applied.get(r.path) ?? 0) + 1);
    const perFile = readdirSync(join(root, 'in')).map((f) => applied.get(join(root, 'in', f)) ?? 0);
    expect(new Set(perFile)).to.deep.equal(new Set([1]));
    j.close();
  });
});
