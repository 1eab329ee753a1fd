/**
 * npm run bench [-- NAME...]: runs the benchmarks (all by default) and prints ratios against
 * references measured in the same run. BENCH_SCALE=0.1 shrinks the data sets for a quick look;
 * BENCH_ROUNDS sets the rounds per measurement (default 3).
 */
import { execFileSync } from 'node:child_process';
import { benchMapperSync } from './mapper-sync.js';
import { benchIngest } from './ingest.js';
import { benchTraces } from './traces.js';
import { benchReplication } from './replication.js';

const benches: Record<string, (scale: number) => Promise<void>> = {
  'mapper-sync': benchMapperSync,
  ingest: benchIngest,
  traces: benchTraces,
  replication: benchReplication,
};

const scale = Number(process.env.BENCH_SCALE ?? 1);
const selected = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(benches);
execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
for (const name of selected) {
  const bench = benches[name];
  if (!bench) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(benches).join(', ')}`);
  await bench(scale);
}
