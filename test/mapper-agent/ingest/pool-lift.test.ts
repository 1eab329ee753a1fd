/**
 * Embargo lifting on the worker pool (pool.ts, enforcement mode) must do exactly what the
 * single-threaded engine does: two identical trees, one lifted on one thread and one on a pool of
 * two, must end with the same owners and modes, the same report, the same journal and the same
 * problems; a dry run changes nothing and lists the same changes. The trees hold every case the
 * lifting rules know: own data, quarantined, foreign, misspelt, unclassified and unreadable files
 * in an ended campaign's setgid directory, a re-embargo with its public products, a rolling
 * campaign (DATE-OBS, journaled ingest time, none), a symlink, deep directories, and a plan left
 * by a crashed run.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Classifier } from '../../../core/embargo/classify.js';
import { classificationSchema, modesSchema } from '../../../core/embargo/rules.js';
import type { CampaignFacts } from '../../../core/embargo/policy.js';
import { liftEmbargoes, type LiftOptions, type LiftReport } from '../../../mapper-agent/ingest/embargo.js';
import { Journal, type PlannedChange } from '../../../mapper-agent/ingest/journal.js';
import { fitsFile, type Card } from '../../support/fits.js';
import { backdateIngest } from '../../support/journal.js';

const PI = 22345;
const GID = 33456; // flare: embargo running
const OLD = GID + 1; // archive: embargo ended
const NOPI = GID + 2;
const ROLL = GID + 3; // rolling release, 30 days, floor passed
const NOW = new Date('2026-11-24T00:00:00Z');
const day = 86400_000;

const campaigns: CampaignFacts[] = [
  { name: 'flare', piUid: PI, gid: GID, embargoEnd: new Date('2027-06-01T00:00:00Z') },
  { name: 'archive', piUid: PI + 1, gid: OLD, embargoEnd: new Date('2026-11-01T00:00:00Z') },
  { name: 'nopi', gid: NOPI },
  { name: 'roll', piUid: PI, gid: ROLL, embargoEnd: new Date('2026-01-01T00:00:00Z'), proprietaryDays: 30 },
];

/** One tree with every case; the same each time it is built. */
function build(root: string, journalFile: string): void {
  const put = (rel: string, content: string | Buffer, mode: number, owner: [number, number]) => {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, content);
    chownSync(p, ...owner);
    chmodSync(p, mode);
    return p;
  };
  const fits = (campaign: string, more: Card[] = []) => fitsFile([['CAMPAIGN', campaign], ...more]);
  mkdirSync(join(root, 'archive'), { recursive: true });
  chownSync(join(root, 'archive'), PI + 1, OLD);
  chmodSync(join(root, 'archive'), 0o2770);
  put('archive/own.fits', fits('archive'), 0o640, [PI + 1, OLD]);
  put('archive/foreign.fits', fits('nopi'), 0o660, [777, OLD]);
  put('archive/misspelt.fits', fits('archvie'), 0o660, [777, OLD]);
  put('archive/running.fits', fits('flare'), 0o640, [PI, OLD]);
  put('archive/notes.txt', 'private notes', 0o640, [777, OLD]);
  put('archive/broken.fits', 'SIMPLE  = garbage', 0o640, [777, OLD]);
  put('archive/wrong-owner.fits', fits('archive'), 0o600, [777, OLD]);
  symlinkSync(join(root, 'archive', 'own.fits'), join(root, 'archive', 'link.fits'));
  for (let i = 0; i < 23; i++) put(`archive/deep/a/b/c/f${i}.fits`, fits('archive'), 0o640, [PI + 1, OLD]);
  for (let i = 0; i < 31; i++) put(`archive/many/m${i}.fits`, fits('archive'), i % 3 ? 0o640 : 0o660, [PI + 1, OLD]);
  put('flare/data.fits', fits('flare'), 0o644, [PI, GID]);
  put('flare/data_ql.fits', fits('flare', [['LEVEL', 'QL']]), 0o644, [PI, GID]);
  put('flare/other.txt', 'public notes of someone', 0o644, [777, GID]);
  put('roll/old.fits', fits('roll', [['DATE-OBS', '2020-03-01T10:00:00']]), 0o640, [PI, ROLL]);
  put('roll/recent.fits', fits('roll', [['DATE-OBS', new Date(NOW.getTime() - 5 * day).toISOString().slice(0, 10)]]), 0o644, [PI, ROLL]);
  put('roll/bad.fits', fits('roll', [['DATE-OBS', '01/03/20']]), 0o640, [PI, ROLL]);
  const undated = put('roll/undated.fits', fits('roll'), 0o640, [PI, ROLL]);
  put('roll/undated-unknown.fits', fits('roll'), 0o640, [PI, ROLL]);
  // The journal: the undated file's ingest 40 days ago, and a lift planned by a run that was killed.
  const journal = new Journal(journalFile, 'ingest (earlier)');
  const st = statSync(undated);
  const [id] = journal.plan([{ path: undated, dev: st.dev, ino: st.ino, campaign: 'roll', kind: 'ingest', before: { uid: 0, gid: 0, mode: 0o664 }, target: { uid: PI, gid: ROLL, mode: 0o640 }, reason: 'ingest' }]);
  journal.finish([{ id: id!, state: 'applied' }]);
  const own = statSync(join(root, 'archive', 'own.fits'));
  journal.plan([{ path: join(root, 'archive', 'own.fits'), dev: own.dev, ino: own.ino, campaign: 'archive', kind: 'embargo-lift', before: { uid: PI + 1, gid: OLD, mode: 0o640 }, target: { uid: PI + 1, gid: OLD, mode: 0o644 }, reason: 'embargo of archive ended' }]);
  journal.close();
  backdateIngest(journalFile, undated, new Date(NOW.getTime() - 40 * day));
}

/** Every entry under the root: relative path -> uid:gid mode (not following symlinks). */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      out[relative(root, p)] = `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

/** The journal's rows, with paths relative to the root, in a stable order (ids and times differ between runs). */
function journalRows(file: string, root: string): string[] {
  const j = new Journal(file, 'read');
  const rows = j.all();
  j.close();
  return rows.map((r) => JSON.stringify({ path: relative(root, r.path), kind: r.kind, state: r.state, campaign: r.campaign ?? null, before_mode: r.before.mode, mode: r.target.mode, uid: r.target.uid, gid: r.target.gid, reason: r.reason })).sort();
}

/**
 * Sorted, with directory changes counted once: each worker gives a directory above its own the
 * traverse bits its files need once per run, so two workers may both plan (and in a race both
 * apply, with the same target) the same change of a shared ancestor. Every file change counts.
 */
function once(lines: string[]): string[] {
  const seen = new Set<string>();
  return lines.filter((l) => !/^directory |"kind":"directory"/.test(l) || (!seen.has(l) && !!seen.add(l))).sort();
}

/** The report as a comparable value: problems with the root cut off, sorted (the pool's order differs). */
function comparable(r: LiftReport, root: string): Record<string, unknown> {
  return { ...r, reclosedBy: [...r.reclosedBy].sort(), problems: r.problems.map((p) => p.split(root).join('<root>')).sort() };
}

describe('mapper-agent/ingest: lifting on the worker pool gives exactly what one thread gives (as root, real files)', function () {
  this.timeout(120_000);
  let base: string;
  const classifier = new Classifier(classificationSchema.parse({}));
  const modes = modesSchema.parse({});

  before(function () {
    if (process.getuid?.() !== 0) this.skip();
    base = mkdtempSync(join(tmpdir(), 'cg-pool-lift-'));
  });
  after(() => base && rmSync(base, { recursive: true, force: true }));

  async function both(opts: Partial<LiftOptions>, rounds = 1) {
    const result = [];
    for (const [name, workers] of [['one', 1], ['pool', 2]] as const) {
      const root = join(base, name, 'data');
      const journalFile = join(base, name, 'journal.sqlite');
      rmSync(join(base, name), { recursive: true, force: true });
      mkdirSync(root, { recursive: true });
      build(root, journalFile);
      const before = snapshot(root);
      const changes: string[] = [];
      const reports: Record<string, unknown>[] = [];
      for (let r = 0; r < rounds; r++) {
        const journal = new Journal(journalFile, 'embargo');
        try {
          const report = await liftEmbargoes({
            roots: [root], campaigns, classifier, modes, journal, now: NOW, batchSize: 4, workers, poolMinDirectories: 0,
            onChange: (c: PlannedChange) => changes.push(`${c.kind} ${relative(root, c.path)} ${c.before.mode.toString(8)} -> ${c.target.uid}:${c.target.gid} ${c.target.mode.toString(8)} (${c.reason})`),
            ...opts,
          });
          reports.push(comparable(report, root));
        } finally {
          journal.close();
        }
      }
      const db = new Database(journalFile, { readonly: true });
      const workerRuns = (db.prepare(`SELECT count(*) AS n FROM runs WHERE command = 'embargo (pool worker)'`).get() as { n: number }).n;
      db.close();
      expect(workerRuns, `${name}: runs of pool workers`).to.equal(workers > 1 ? workers * rounds : 0);
      result.push({ before, after: snapshot(root), changes: once(changes), reports, journal: once(journalRows(journalFile, root)) });
    }
    return { one: result[0]!, pool: result[1]! };
  }

  it('a dry run on the pool changes nothing and lists the same changes as one thread', async () => {
    const { one, pool } = await both({ dryRun: true });
    expect(one.after, 'the dry run changed nothing').to.deep.equal(one.before);
    expect(pool.after, 'the dry run changed nothing (pool)').to.deep.equal(pool.before);
    expect(one.changes.filter((c) => c.startsWith('embargo-lift ')), 'something would be lifted').to.have.length.above(50);
    expect(pool.changes).to.deep.equal(one.changes);
    expect(pool.reports).to.deep.equal(one.reports);
  });

  it('lifting, re-embargo, rolling release, resume and refusals: the same files, modes, report, journal and problems', async () => {
    const { one, pool } = await both({}, 2);
    // The single thread does what the rules say (so that equality means something) ...
    expect(one.after['archive/own.fits']).to.equal(`${PI + 1}:${OLD} 644`);
    expect(one.after['archive/deep/a/b/c/f7.fits']).to.equal(`${PI + 1}:${OLD} 644`);
    expect(one.after['archive/foreign.fits']).to.equal(`777:${OLD} 660`);
    expect(one.after['archive/notes.txt']).to.equal(`777:${OLD} 640`);
    expect(one.after['archive/broken.fits']).to.equal(`777:${OLD} 640`);
    expect(one.after['flare/data.fits'], 're-embargo').to.equal(`${PI}:${GID} 640`);
    expect(one.after['flare/data_ql.fits'], 'a quick-look stays public').to.equal(`${PI}:${GID} 644`);
    expect(one.after['roll/old.fits']).to.equal(`${PI}:${ROLL} 644`);
    expect(one.after['roll/recent.fits']).to.equal(`${PI}:${ROLL} 640`);
    expect(one.after['roll/undated.fits'], 'journaled ingest + 30 days passed').to.equal(`${PI}:${ROLL} 644`);
    expect(one.after['roll/undated-unknown.fits']).to.equal(`${PI}:${ROLL} 640`);
    expect(one.reports[0]).to.deep.include({ reclosed: 2, refused: 1 });
    expect((one.reports[0] as { resumed: { finished: number } }).resumed.finished).to.equal(1);
    expect(one.reports[1], 'a second run finds nothing to do').to.deep.include({ lifted: 0, reclosed: 0 });
    // ... and the pool does exactly the same.
    expect(pool.after).to.deep.equal(one.after);
    expect(pool.reports).to.deep.equal(one.reports);
    expect(pool.changes).to.deep.equal(one.changes);
    expect(pool.journal).to.deep.equal(one.journal);
  });
});
