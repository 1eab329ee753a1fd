/**
 * The journal on disk: a journal file written by an earlier version of the agent (agents in the
 * field have one) is opened by this one and its unconfirmed plans are resumed, re-checked under
 * current policy; every reader (history, counts, pending, ingestedAt, the compliance history, the
 * quarantine digest) reads its rows. And a lifting run on the worker pool killed with SIGKILL
 * leaves nothing applied twice and nothing planned after the next run. Real files, as root.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { Classifier } from '../../../core/embargo/classify.js';
import { classificationSchema, modesSchema } from '../../../core/embargo/rules.js';
import type { CampaignFacts } from '../../../core/embargo/policy.js';
import { IngestEngine } from '../../../mapper-agent/ingest/engine.js';
import { liftEmbargoes } from '../../../mapper-agent/ingest/embargo.js';
import { Journal } from '../../../mapper-agent/ingest/journal.js';
import { workerBootstrap } from '../../../mapper-agent/ingest/pool.js';
import { fitsFile } from '../../support/fits.js';
import { ownershipOf } from '../../support/ownership.js';

const PI = 32345;
const GID = 43456; // flare: embargo running
const OLD = GID + 1; // archive: embargo ended
const NOW = new Date('2026-11-24T00:00:00Z');

/** The journal's schema and batch insert as the agent wrote them before per-row inserts (commit 3a74a4e): the format in the field. */
const V1_SCHEMA = `
  CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, command TEXT NOT NULL, started TEXT NOT NULL, finished TEXT);
  CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY, run INTEGER NOT NULL, path TEXT NOT NULL, dev INTEGER NOT NULL, ino INTEGER NOT NULL,
    campaign TEXT, kind TEXT NOT NULL, reason TEXT NOT NULL,
    before_uid INTEGER NOT NULL, before_gid INTEGER NOT NULL, before_mode INTEGER NOT NULL,
    uid INTEGER NOT NULL, gid INTEGER NOT NULL, mode INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('planned', 'applied', 'skipped')), planned_at TEXT NOT NULL, done_at TEXT);
  CREATE INDEX IF NOT EXISTS changes_pending ON changes(state) WHERE state = 'planned';
  CREATE INDEX IF NOT EXISTS changes_inode ON changes(dev, ino);
  CREATE TABLE IF NOT EXISTS notices (campaign TEXT NOT NULL, embargo_end TEXT NOT NULL, sent_at TEXT NOT NULL, PRIMARY KEY (campaign, embargo_end));
  CREATE TABLE IF NOT EXISTS passes (id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('incremental', 'full')), started_ms INTEGER NOT NULL, finished_ms INTEGER);
  CREATE TABLE IF NOT EXISTS digests (name TEXT PRIMARY KEY, last_id INTEGER NOT NULL, sent_at TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS retries (path TEXT PRIMARY KEY, due_ms INTEGER NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL);`;
const V1_INSERT = `INSERT INTO changes (run, planned_at, state, path, dev, ino, campaign, kind, reason, before_uid, before_gid, before_mode, uid, gid, mode)
  SELECT @run, @at, 'planned', j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5, j.value->>6, j.value->>7, j.value->>8, j.value->>9, j.value->>10, j.value->>11
  FROM json_each(@rows) AS j ORDER BY j.key`;

describe('mapper-agent/ingest/journal: the format in the field, and crashes (as root, real files)', function () {
  this.timeout(120_000);
  let base: string;
  let root: string;
  const classifier = new Classifier(classificationSchema.parse({}));
  const modes = modesSchema.parse({});
  const campaigns = new Map<string, CampaignFacts>([
    ['flare', { name: 'flare', piUid: PI, gid: GID, embargoEnd: new Date('2027-06-01T00:00:00Z') }],
    ['archive', { name: 'archive', piUid: PI + 1, gid: OLD, embargoEnd: new Date('2026-11-01T00:00:00Z') }],
  ]);
  const put = (rel: string, data: Buffer | string, mode: number, owner: [number, number] = [0, 0]) => {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, data);
    chownSync(p, ...owner);
    chmodSync(p, mode);
    return p;
  };

  before(function () {
    if (process.getuid?.() !== 0) this.skip();
  });
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'cg-journal-'));
    root = join(base, 'data');
    mkdirSync(root, { mode: 0o755 });
    chmodSync(root, 0o755);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('a journal written by the earlier format is read by every reader and its interrupted plans are resumed under current policy', async () => {
    const ingested = put('obs/done.fits', fitsFile([['CAMPAIGN', 'flare']]), 0o640, [PI, GID]);
    const interrupted = put('obs/half.fits', fitsFile([['CAMPAIGN', 'flare']]), 0o664);
    const stale = put('obs/stale.fits', fitsFile([['CAMPAIGN', 'flare']]), 0o664);
    const quarantined = put('obs/bad.fits', 'SIMPLE  = garbage', 0o640, [777, 888]);
    const file = join(base, 'state', 'ingest.sqlite');
    mkdirSync(join(base, 'state'));
    // The old agent: one finished run (an ingest, a quarantine), then a run killed after planning its batch.
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec(V1_SCHEMA);
    const row = (p: string, kind: string, campaign: string | null, before: number[], target: number[], reason: string) => {
      const st = statSync(p);
      return [p, st.dev, st.ino, campaign, kind, reason, ...before, ...target];
    };
    const run1 = Number(old.prepare('INSERT INTO runs (command, started) VALUES (?, ?)').run('ingest', '2026-01-01T00:00:00.000Z').lastInsertRowid);
    old.prepare(V1_INSERT).run({ run: run1, at: '2026-01-01T00:00:01.000Z', rows: JSON.stringify([
      row(ingested, 'ingest', 'flare', [0, 0, 0o664], [PI, GID, 0o640], 'CAMPAIGN in HDU 0 (primary)'),
      row(quarantined, 'quarantine', null, [777, 888, 0o644], [777, 888, 0o640], 'unreadable FITS header'),
    ]) });
    old.prepare(`UPDATE changes SET state = 'applied', done_at = '2026-01-01T00:00:02.000Z' WHERE run = ?`).run(run1);
    old.prepare('UPDATE runs SET finished = ? WHERE id = ?').run('2026-01-01T00:00:03.000Z', run1);
    const run2 = Number(old.prepare('INSERT INTO runs (command, started) VALUES (?, ?)').run('ingest (killed)', '2026-02-01T00:00:00.000Z').lastInsertRowid);
    old.prepare(V1_INSERT).run({ run: run2, at: '2026-02-01T00:00:01.000Z', rows: JSON.stringify([
      row(interrupted, 'ingest', 'flare', [0, 0, 0o664], [PI, GID, 0o640], 'CAMPAIGN in HDU 0 (primary)'),
      row(stale, 'ingest', 'flare', [0, 0, 0o664], [PI, GID, 0o644], 'planned while flare was public'),
    ]) });
    old.close();

    const journal = new Journal(file, 'ingest (new agent)');
    try {
      expect(journal.counts()).to.deep.equal({ applied: 2, planned: 2 });
      expect(journal.pending(['ingest', 'quarantine', 'directory']).map((r) => r.path)).to.deep.equal([interrupted, stale]);
      expect(journal.ingestedAt(ingested, statSync(ingested).dev, statSync(ingested).ino, 'flare')?.toISOString()).to.equal('2026-01-01T00:00:02.000Z');
      expect(journal.history(ingested).map((r) => `${r.kind} ${r.state} ${r.campaign} ${r.target.mode.toString(8)}`)).to.deep.equal(['ingest applied flare 640']);
      const digest = journal.quarantinesSinceDigest();
      expect(digest.rows.map((r) => r.path)).to.deep.equal([quarantined]);
      expect(journal.appliedByCampaign(['ingest']).map((r) => `${r.campaign} ${r.files}`)).to.deep.equal(['flare 1']);

      const engine = new IngestEngine({ roots: [root], classifier, modes, resolve: (c) => campaigns.get(c), journal, now: NOW });
      const resumed = await engine.resume();
      expect(resumed).to.deep.include({ finished: 1, dropped: 1, skipped: 0 });
      expect(ownershipOf(interrupted)).to.equal(`${PI}:${GID} 640`);
      expect(ownershipOf(stale), 'the stale plan is dropped; the file gets what policy says now').to.equal(`${PI}:${GID} 640`);
      expect(journal.counts().planned ?? 0).to.equal(0);
      expect(journal.history(stale).map((r) => `${r.kind} ${r.state}`)).to.deep.equal(['ingest skipped', 'ingest applied']);
      // New changes (batches) are read together with the old rows.
      const more = put('obs/new.fits', fitsFile([['CAMPAIGN', 'flare']]), 0o664);
      await engine.ingest([more]);
      expect(journal.history(more).map((r) => `${r.kind} ${r.state} ${r.run}`)).to.deep.equal([`ingest applied ${journal.run}`]);
      expect(journal.appliedByCampaign(['ingest']).map((r) => `${r.campaign} ${r.files}`)).to.deep.equal(['flare 4']);
    } finally {
      journal.close();
    }
  });

  it('plans are journaled in order with their own ids; applied and skipped confirmations land on the right rows', () => {
    const journal = new Journal(join(base, 'j.sqlite'), 'test');
    try {
      const changes = Array.from({ length: 5 }, (_, i) => ({
        path: `/x/f${i}`, dev: 1, ino: 100 + i, kind: 'ingest' as const, before: { uid: 0, gid: 0, mode: 0o664 }, target: { uid: i, gid: i, mode: 0o640 }, reason: `r${i}`,
        ...(i % 2 ? { campaign: 'flare' } : {}),
      }));
      const ids = journal.plan(changes);
      expect(ids).to.have.length(5);
      expect(new Set(ids).size).to.equal(5);
      journal.finish(ids.map((id, i) => (i === 2 ? { id, state: 'skipped' as const, reason: 'apply failed: EPERM' } : { id, state: 'applied' as const })));
      for (const [i, c] of changes.entries()) {
        const [h] = journal.history(c.path);
        expect(h, c.path).to.deep.include({ id: ids[i], path: c.path, ino: c.ino, kind: 'ingest', state: i === 2 ? 'skipped' : 'applied', reason: i === 2 ? 'apply failed: EPERM' : `r${i}`, target: c.target, before: c.before });
        expect(h!.campaign).to.equal(c.campaign);
      }
    } finally {
      journal.close();
    }
  });

  it("a batch's confirmations written with the next batch's plan land as finish() would write them, with their own time", () => {
    const journal = new Journal(join(base, 'j.sqlite'), 'test');
    const other = new Journal(join(base, 'j.sqlite'), 'another run');
    try {
      const change = (i: number) => ({ path: `/x/h${i}`, dev: 1, ino: 300 + i, kind: 'ingest' as const, campaign: 'flare', before: { uid: 0, gid: 0, mode: 0o664 }, target: { uid: PI, gid: GID, mode: 0o640 }, reason: `r${i}` });
      const first = journal.plan([change(0), change(1)]);
      const appliedAt = '2026-11-24T01:02:03.456Z';
      const second = journal.plan([change(2)], [{ id: first[0]!, state: 'applied' }, { id: first[1]!, state: 'skipped', reason: 'apply failed: EPERM' }], appliedAt);
      expect(journal.history('/x/h0')[0]).to.deep.include({ state: 'applied', at: appliedAt });
      expect(journal.history('/x/h1')[0]).to.deep.include({ state: 'skipped', reason: 'apply failed: EPERM', at: appliedAt });
      expect(journal.history('/x/h2')[0]).to.deep.include({ state: 'planned' });
      expect(journal.counts()).to.deep.equal({ applied: 1, skipped: 1, planned: 1 });
      // confirmations of a batch planned by another connection (not this one's to settle unread) go the usual way first
      const third = other.plan([change(3)]);
      journal.plan([change(4)], [{ id: third[0]!, state: 'applied' }]);
      expect(journal.history('/x/h3')[0]).to.deep.include({ state: 'applied' });
      journal.finish([{ id: second[0]!, state: 'applied' }]);
      expect(journal.counts()).to.deep.equal({ applied: 3, skipped: 1, planned: 1 });
      expect(journal.appliedByCampaign(['ingest']).map((a) => [a.campaign, a.files])).to.deep.equal([['flare', 3]]);
    } finally {
      journal.close();
      other.close();
    }
  });

  it('a batch settled by another connection first (a resume) is not counted again when its planner confirms it', () => {
    const file = join(base, 'j.sqlite');
    const planner = new Journal(file, 'ingest');
    const other = new Journal(file, 'ingest (resume)');
    try {
      const changes = Array.from({ length: 3 }, (_, i) => ({ path: `/x/g${i}`, dev: 1, ino: 200 + i, kind: 'ingest' as const, campaign: 'flare', before: { uid: 0, gid: 0, mode: 0o664 }, target: { uid: PI, gid: GID, mode: 0o640 }, reason: 'r' }));
      const ids = planner.plan(changes);
      other.finish(ids.map((id) => ({ id, state: 'applied' as const })));
      planner.finish(ids.map((id) => ({ id, state: 'applied' as const })));
      expect(planner.appliedByCampaign(['ingest']).map((a) => [a.campaign, a.files])).to.deep.equal([['flare', 3]]);
      expect(planner.counts()).to.deep.equal({ applied: 3 });
    } finally {
      planner.close();
      other.close();
    }
  });

  it('the query docs/ingest.md gives operators lists a directory\'s changes from the batch documents', () => {
    const journal = new Journal(join(base, 'j.sqlite'), 'test');
    const change = (dir: string, name: string, mode: number) => ({ path: `${dir}/${name}`, dev: 1, ino: name.length, kind: 'ingest' as const, campaign: 'flare', before: { uid: 0, gid: 0, mode: 0o664 }, target: { uid: PI, gid: GID, mode }, reason: 'r' });
    const ids = journal.plan([change('/data/raw/flare', 'a.fits', 0o640), change('/data/raw/other', 'x.fits', 0o644), change('/data/raw/flare', 'b.fits', 0o640)]);
    journal.finish(ids.map((id) => ({ id, state: 'applied' as const })));
    journal.close();
    const doc = readFileSync(new URL('../../../docs/ingest.md', import.meta.url), 'utf8');
    const sql = /## The journal[\s\S]*?```sql\n([\s\S]*?)```/.exec(doc)![1]!;
    const db = new Database(join(base, 'j.sqlite'), { readonly: true });
    const rows = db.prepare(sql).raw().all() as unknown[][];
    db.close();
    expect(rows.map((r) => r.slice(2))).to.deep.equal([['ingest', 'a.fits', '664', '640'], ['ingest', 'b.fits', '664', '640']]);
  });

  it('a new journal opened by four threads at the same moment opens in every one (its switch to WAL met SQLITE_BUSY)', async () => {
    // Seen in CI: the pool's two workers creating the journal at once, one failed with "database is locked" at the
    // switch to WAL (SQLite answers BUSY there without its busy handler). 4 threads x 60 new files failed ~9 opens here.
    const dir = join(base, 'open-race');
    mkdirSync(dir, { recursive: true });
    const threads = 4;
    const gate = new SharedArrayBuffer(4);
    const script = new URL('../../support/open-journal-worker.ts', import.meta.url);
    const results = await Promise.all(Array.from({ length: threads }, () => new Promise<{ failed: number; first: string }>((resolve, reject) => {
      const w = new Worker(workerBootstrap(script), { eval: true, workerData: { dir, gate, threads, rounds: 60 } });
      w.once('message', resolve);
      w.once('error', reject);
    })));
    expect(results).to.deep.equal(Array.from({ length: threads }, () => ({ failed: 0, first: '' })));
  });

  it('lifting on the worker pool killed with SIGKILL: the next run finishes every file exactly once and leaves nothing planned', async () => {
    const dirs = 30;
    const per = 100;
    const header = fitsFile([['CAMPAIGN', 'archive']]);
    for (let d = 0; d < dirs; d++) for (let i = 0; i < per; i++) put(`lift/d${d}/f${i}.fits`, header, 0o640, [PI + 1, OLD]);
    const jfile = join(base, 'journal.sqlite');
    const script = `
      import { liftEmbargoes } from ${JSON.stringify(new URL('../../../mapper-agent/ingest/embargo.ts', import.meta.url).pathname)};
      import { Journal } from ${JSON.stringify(new URL('../../../mapper-agent/ingest/journal.ts', import.meta.url).pathname)};
      import { Classifier } from ${JSON.stringify(new URL('../../../core/embargo/classify.ts', import.meta.url).pathname)};
      import { classificationSchema } from ${JSON.stringify(new URL('../../../core/embargo/rules.ts', import.meta.url).pathname)};
      import { modesSchema } from ${JSON.stringify(new URL('../../../core/embargo/rules.ts', import.meta.url).pathname)};
      const [root, jfile] = process.argv.slice(1);
      const campaigns = ${JSON.stringify([...campaigns.values()])}.map((c) => ({ ...c, embargoEnd: new Date(c.embargoEnd) }));
      let n = 0;
      await liftEmbargoes({ roots: [root], campaigns, classifier: new Classifier(classificationSchema.parse({})), modes: modesSchema.parse({}),
        journal: new Journal(jfile, 'embargo (killed)'), now: new Date(${JSON.stringify(NOW.toISOString())}), batchSize: 16, workers: 2,
        onFile: () => {
          if (++n === 1) process.stdout.write('go\\n');
          // Never done before the kill, however late it comes: this thread stops handing out directories at half
          // way (the workers finish what they hold: a few directories), and the kill lands mid-run.
          if (n === ${(dirs * per) / 2}) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
        } });
      process.stdout.write('finished\\n');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, root, jfile], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve) => child.stdout.on('data', () => out.includes('go') && resolve()));
    await sleep(20);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const files = readdirSync(join(root, 'lift')).flatMap((d) => readdirSync(join(root, 'lift', d)).map((f) => join(root, 'lift', d, f)));
    const opened = () => files.filter((f) => ownershipOf(f) === `${PI + 1}:${OLD} 644`).length;
    expect(out, 'killed before it finished').not.to.include('finished');
    expect(opened(), 'killed part-way').to.be.below(files.length);

    const journal = new Journal(jfile, 'embargo (after the crash)');
    try {
      const pendingBefore = journal.pending(['embargo-lift', 're-embargo']).length;
      const report = await liftEmbargoes({ roots: [root], campaigns: [...campaigns.values()], classifier, modes, journal, now: NOW, batchSize: 16, workers: 2 });
      expect(report.resumed.finished + report.resumed.dropped + report.resumed.skipped).to.equal(pendingBefore);
      expect(report.resumed.dropped, 'policy unchanged: no plan is stale').to.equal(0);
      expect(opened()).to.equal(files.length);
      expect(journal.counts().planned ?? 0).to.equal(0);
      const perFile = files.map((f) => journal.history(f).filter((r) => r.state === 'applied').length);
      expect(new Set(perFile), 'every file lifted exactly once across both runs').to.deep.equal(new Set([1]));
    } finally {
      journal.close();
    }
  });
});
