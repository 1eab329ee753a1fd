/**
 * Benchmark helpers: run a command several rounds, take medians, and report ratios against a
 * reference measured in the same run (never absolute timings as pass/fail). Peak RSS comes from
 * GNU time (/usr/bin/time -f %M, kilobytes) so it is measured the same way for C and Node.
 */
import { spawnSync } from 'node:child_process';

export interface Run {
  seconds: number;
  peakRssMb: number;
  stdout: string;
}

/** Run a command once; throws with its stderr if it fails. */
export function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Run {
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { env, encoding: 'utf8', maxBuffer: 256 << 20 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  const lines = r.stderr.trim().split('\n');
  const peakKb = Number(lines[lines.length - 1]);
  return { seconds, peakRssMb: peakKb / 1024, stdout: r.stdout };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Print one result line: name, medians, ratio (candidate time / reference time), and a verdict against a target. */
export function report(name: string, fields: Record<string, string | number>, verdict?: { ok: boolean; target: string }): void {
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`);
  const tail = verdict ? `  [${verdict.ok ? 'meets' : 'MISSES'} target ${verdict.target}]` : '';
  console.log(`${name.padEnd(28)} ${parts.join('  ')}${tail}`);
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3);
}

export function rounds(): number {
  return Number(process.env.BENCH_ROUNDS ?? 3);
}
