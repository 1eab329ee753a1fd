/**
 * The worker pool started before its job is known (pool.ts startPool): its workers load while the
 * main thread reads the campaigns, touch nothing until they get the job, and ingest exactly as a
 * pool started with the job; a pool never used is stopped; a worker that cannot start fails the
 * run with a clear error instead of hanging, and its failure while idle is never an unhandled
 * rejection. Real worker threads, real files, as root.
 */
import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CampaignFacts } from '../../../core/embargo/policy.js';
import { classificationSchema, modesSchema } from '../../../core/embargo/rules.js';
import { Journal } from '../../../mapper-agent/ingest/journal.js';
import { ingestWithPool, poolWorkersAlive, runPool, startPool, type PoolJob, type WorkerPool } from '../../../mapper-agent/ingest/pool.js';
import { fitsFile } from '../../support/fits.js';
import { ownershipOf } from '../../support/ownership.js';
import { rejection } from '../../support/rejection.js';

const PI = 42345;
const GID = 43456;
const NOW = new Date('2026-11-24T00:00:00Z');
const campaigns: CampaignFacts[] = [{ name: 'flare', piUid: PI, gid: GID, embargoEnd: new Date('2027-06-01T00:00:00Z') }];
const broken = new URL('../../support/broken-pool-worker.ts', import.meta.url);

describe('mapper-agent/ingest: the worker pool started before its job (real threads, as root)', function () {
  this.timeout(60_000);
  let base: string;
  let root: string;
  let job: PoolJob;
  const unhandled: unknown[] = [];
  const note = (e: unknown) => unhandled.push(e);

  before(function () {
    if (process.getuid?.() !== 0) this.skip();
    base = mkdtempSync(join(tmpdir(), 'cg-pool-start-'));
    root = join(base, 'data');
    process.on('unhandledRejection', note);
    process.on('uncaughtException', note);
  });
  after(() => {
    process.off('unhandledRejection', note);
    process.off('uncaughtException', note);
    if (base) rmSync(base, { recursive: true, force: true });
  });
  beforeEach(() => {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    unhandled.length = 0;
    job = {
      roots: [root], classification: classificationSchema.parse({}), modes: modesSchema.parse({}), campaigns, journalPath: join(base, 'journal.sqlite'),
      dryRun: false, batchSize: 8, now: NOW.toISOString(), publicAreas: [],
    };
  });
  afterEach(() => expect(poolWorkersAlive(), 'no pool worker outlives its test').to.equal(0));

  const put = (rel: string) => {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, fitsFile([['CAMPAIGN', 'flare']]));
    chmodSync(p, 0o664);
    return p;
  };
  /** A pool of broken workers (test/support/broken-pool-worker.ts) told how to fail: workers get a copy of the environment when they start. */
  const brokenPool = (workers: number, how: 'exit' | 'domexception'): WorkerPool => {
    const was = process.env.BROKEN_POOL_WORKER;
    process.env.BROKEN_POOL_WORKER = how;
    try {
      return startPool(workers, { url: broken });
    } finally {
      if (was === undefined) delete process.env.BROKEN_POOL_WORKER;
      else process.env.BROKEN_POOL_WORKER = was;
    }
  };
  /** Resolves once the pool's threads have all exited on their own (a worker that dies while idle). */
  const allExited = async () => {
    while (poolWorkersAlive() > 0) await new Promise((r) => setTimeout(r, 10));
  };

  it('started first, given the job later: touches no file before the job, then ingests every directory', async () => {
    const pool = startPool(2);
    expect(pool.size).to.equal(2);
    expect(poolWorkersAlive()).to.equal(2);
    // The tree is written while the workers load: none of it may change before run() hands the job over.
    const files = Array.from({ length: 40 }, (_, i) => put(`d${i % 7}/sub${i % 3}/f${i}.fits`));
    await new Promise((r) => setTimeout(r, 300));
    for (const f of files) expect(ownershipOf(f)).to.equal('0:0 664');
    const report = await ingestWithPool([root], job, pool);
    expect(report).to.include({ files: 40, changed: 40, refused: 0, quarantined: 0 });
    for (const f of files) expect(ownershipOf(f)).to.equal(`${PI}:${GID} 640`);
    expect(poolWorkersAlive(), 'the workers exit at the end of the queue').to.equal(0);
    expect((await rejection(ingestWithPool([root], job, pool))).message).to.match(/already used/);
  });

  it('a pool never used is terminated: its threads exit and it cannot be used after', async () => {
    const pool = startPool(2);
    await pool.terminate();
    expect(poolWorkersAlive()).to.equal(0);
    await pool.terminate(); // idempotent
    const f = put('late/f.fits');
    expect((await rejection(ingestWithPool([root], job, pool))).message).to.match(/already used or terminated/);
    expect(ownershipOf(f)).to.equal('0:0 664');
  });

  it('a worker whose modules fail to load: the run fails with a clear error, no hang, and nothing unhandled while it sat idle', async () => {
    const f = put('obs/f.fits');
    const pool = startPool(2, { url: broken });
    await allExited(); // both died while idle, before any job
    const err = await rejection(ingestWithPool([root], job, pool));
    expect(err.message).to.equal('ingest worker failed to start: this worker cannot load its modules (test)');
    expect(ownershipOf(f)).to.equal('0:0 664');
    expect(unhandled).to.deep.equal([]);
    // Never used at all: terminating it is all there is to do.
    await startPool(1, { url: broken }).terminate();
    await allExited();
    expect(unhandled).to.deep.equal([]);
  });

  it('a worker that exits before its job: the run fails, saying so', async () => {
    const pool = brokenPool(2, 'exit');
    const err = await rejection(ingestWithPool([root], job, pool));
    expect(err.message).to.equal('ingest worker failed to start: it exited with 3 before its job');
    expect(unhandled).to.deep.equal([]);
  });

  it('a worker that throws a DOMException while loading: the run says what it was, never "[object Object]"', async () => {
    // Node's worker error serialization keeps only real Errors: a DOMException arrives as a bare object.
    const pool = brokenPool(1, 'domexception');
    const err = await rejection(ingestWithPool([root], job, pool));
    expect(err.message).to.match(/^ingest worker failed to start: DOMException \[DataCloneError\]: could not clone the job/);
    expect(unhandled).to.deep.equal([]);
  });

  it('a worker that cannot build its engine from the job (journal unusable) fails the run before any file changes', async () => {
    const f = put('obs/f.fits');
    mkdirSync(join(base, 'not-a-journal'), { recursive: true });
    const pool = startPool(2);
    const err = await rejection(ingestWithPool([root], { ...job, journalPath: join(base, 'not-a-journal') }, pool));
    expect(err.message).to.match(/^ingest worker failed to start: /);
    expect(ownershipOf(f)).to.equal('0:0 664');
    expect(unhandled).to.deep.equal([]);
  });

  it('the journal is still the one the main thread resumed: a pool started before a journal exists works once it does', async () => {
    const pool = startPool(2);
    const journalPath = join(base, 'fresh', 'journal.sqlite');
    mkdirSync(join(base, 'fresh'), { recursive: true });
    new Journal(journalPath, 'main').close();
    const f = put('obs/f.fits');
    const report = await ingestWithPool([root], { ...job, journalPath }, pool);
    expect(report).to.include({ changed: 1 });
    expect(ownershipOf(f)).to.equal(`${PI}:${GID} 640`);
    const j = new Journal(journalPath, 'check');
    expect(j.all().map((r) => r.state)).to.deep.equal(['applied']);
    j.close();
  });

  describe('the hand-out: directories numbered, claimed by free workers from a shared counter', () => {
    it('many directories of very different sizes on three workers: each worked on exactly once, every file changed once', async () => {
      const sizes = [300, 1, 1, 0, 120, 1, 2, 0, 0, 57, 1, 1, 1, 1, 200, 3, 0, 1, 1, 9];
      const dirs = sizes.map((n, d) => {
        mkdirSync(join(root, `d${d}`), { recursive: true });
        for (let i = 0; i < n; i++) put(`d${d}/f${i}.fits`);
        return join(root, `d${d}`);
      });
      const seen: number[] = [];
      const journalPath = join(base, 'hand-out.sqlite');
      const report = await runPool(dirs[Symbol.iterator](), { ...job, journalPath }, 3, (r) => void seen.push(r.report.files));
      const files = sizes.reduce((a, b) => a + b);
      expect(report).to.include({ files, changed: files, refused: 0 });
      expect(seen.sort((a, b) => a - b)).to.deep.equal([...sizes].sort((a, b) => a - b));
      const j = new Journal(journalPath, 'check');
      const changes = j.all().filter((r) => r.kind === 'ingest' && r.state === 'applied').map((r) => r.path);
      j.close();
      expect(new Set(changes).size).to.equal(files);
      expect(changes.length).to.equal(files);
    });

    it('no directories at all: the workers end by themselves and the report is empty', async () => {
      const report = await runPool([][Symbol.iterator](), job, 2);
      expect(report).to.include({ files: 0, changed: 0 });
      expect(poolWorkersAlive()).to.equal(0);
    });

    for (const at of [0, 5]) {
      it(`a walk that fails ${at ? 'part-way' : 'before the first directory'}: the run fails with the walk's error, every worker stops, nothing unhandled`, async () => {
        const dirs = Array.from({ length: 12 }, (_, d) => {
          put(`w${d}/f.fits`);
          return join(root, `w${d}`);
        });
        function* walk() {
          for (const [i, d] of dirs.entries()) {
            if (i === at) throw new Error('the walk failed (test)');
            yield d;
          }
        }
        const err = await rejection(runPool(walk(), job, 2));
        expect(err.message).to.equal('the walk failed (test)');
        expect(poolWorkersAlive()).to.equal(0);
        expect(unhandled).to.deep.equal([]);
        if (at === 0) for (const d of dirs) expect(ownershipOf(join(d, 'f.fits'))).to.equal('0:0 664');
      });
    }
  });
});
