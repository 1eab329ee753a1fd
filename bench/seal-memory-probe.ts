/**
 * The memory of one directory's header seals during embargo enforcement (seal.ts, engine.ts
 * `sealed()`), without files: a real journal holds N seals of one directory, journaled the way
 * the engine does (batches of 256 planned and confirmed with their seals: one encodeSeals document
 * each); then, in a fresh process, the directory's seal documents are loaded as the engine loads
 * them and every name is looked up with the status it was sealed with (every seal holds).
 *   node dist/bench/seal-memory-probe.js fill JOURNAL N   (writes the journal)
 *   node dist/bench/seal-memory-probe.js load JOURNAL N   (prints one JSON line; run it under GNU time)
 * `load` prints its own peak RSS (getrusage), the memory the loaded seals keep (heap and array
 * buffers after a full GC, the documents' text gone), and the times of loading and of the N look-ups.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Journal, type PlannedChange, type Settled } from '../mapper-agent/ingest/journal.js';
import { DirectorySeals, type Seal } from '../mapper-agent/ingest/seal.js';
import type { FileStat } from '../mapper-agent/ingest/safe-file.js';

const DIR = '/archive/raw/2026-12-02';
const BATCH = 256;
const RULES = '0123456789abcdef';
const DAY = Date.parse('2026-12-02T00:00:00Z');

/** File i of the directory: a name like an archive's, its status, and a seal with a DATE-OBS (the larger kind). */
function file(i: number): { name: string; stat: FileStat; seal: Seal } {
  const name = `c4d_261202_${String(i).padStart(7, '0')}_ooi_r_v1.fits.fz`;
  const observedMs = DAY + i * 83.123;
  const stat: FileStat = { dev: 2049, ino: 1_000_000 + i, mode: 0o100640, nlink: 1, uid: 4242, gid: 5252, size: 2_880 * (10 + (i % 7)), mtimeMs: DAY + 3.6e6 + i * 101.123456, ctimeMs: DAY + 7.2e6 + i * 97.654321 };
  const seal: Seal = {
    classification: {
      kind: 'science', campaign: 'deep-field', reason: 'CAMPAIGN = deep-field in the primary HDU', source: { hdu: 0, hduKind: 'primary', keyword: 'CAMPAIGN' },
      observed: { kind: 'date', text: new Date(observedMs).toISOString().slice(0, 23), hdu: 0, date: new Date(observedMs) },
    },
    rules: RULES,
    stamp: { size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs },
  };
  return { name, stat, seal };
}

function fill(path: string, n: number): void {
  const journal = new Journal(path, 'seal-memory-probe');
  try {
    for (let start = 0; start < n; start += BATCH) {
      const files = Array.from({ length: Math.min(BATCH, n - start) }, (_, k) => file(start + k));
      const changes: PlannedChange[] = files.map(({ name, stat }) => ({
        path: `${DIR}/${name}`, dev: stat.dev, ino: stat.ino, campaign: 'deep-field', kind: 'ingest', reason: 'CAMPAIGN = deep-field in the primary HDU; under embargo',
        before: { uid: 0, gid: 0, mode: 0o644 }, target: { uid: 4242, gid: 5252, mode: 0o640 },
      }));
      const ids = journal.plan(changes);
      journal.finish(files.map(({ seal }, k): Settled => ({ id: ids[k]!, state: 'applied', seal })));
    }
  } finally {
    journal.close();
  }
}

/** The directory's seals as the engine loads them (engine.ts `sealed()`); in a function of its own, so nothing else of the loading outlives it. */
function loadSeals(journal: Journal): DirectorySeals {
  return new DirectorySeals(DIR, journal.eachSealDoc(DIR));
}

async function load(path: string, n: number): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const journal = new Journal(path, 'seal-memory-probe');
  // What the seals keep: their JS heap and their typed arrays' buffers (outside the heap; those let
  // go are freed by a thread of their own after a GC: a moment later, and a second GC).
  const kept = async () => {
    gc();
    await new Promise((r) => setTimeout(r, 100));
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const before = await kept();
  const t0 = performance.now();
  const seals = loadSeals(journal);
  const t1 = performance.now();
  const keptMb = ((await kept()) - before) / 2 ** 20;
  let held = 0;
  for (let i = 0; i < n; i++) {
    const { name, stat } = file(i);
    if (seals.holding(name, stat, RULES)?.campaign === 'deep-field') held++;
  }
  const t2 = performance.now();
  if (held !== n) throw new Error(`only ${held} of ${n} seals held`);
  console.log(JSON.stringify({ entries: n, peak_rss_mb: process.resourceUsage().maxRSS / 1024, kept_mb: keptMb, bytes_per_entry: (keptMb * 2 ** 20) / Math.max(1, n), load_ms: t1 - t0, lookups_ms: t2 - t1, prunable: seals.prunable.length }));
  journal.close();
}

const [mode, path, count] = process.argv.slice(2);
const n = Number(count);
if (!path || !Number.isInteger(n) || n < 0) throw new Error('usage: seal-memory-probe fill|load JOURNAL N');
if (mode === 'fill') fill(path, n);
else if (mode === 'load') await load(path, n);
else throw new Error(`unknown mode ${mode}: fill or load`);
