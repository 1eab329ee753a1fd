/**
 * Benchmarks (issue 5):
 *  - ingest: N 20 kB FITS files across 100 campaigns; `mapper-agent ingest` against a C program
 *    (bench/ingest-ref.c, compiled here) doing open(O_NOFOLLOW) + read 2880 + fchown + fchmod +
 *    close on the same files, same run, several rounds; ratio = agent files/s / C files/s. Also
 *    the agent's own system calls per file in C (bench/ingest-floor.c), to tell their cost apart.
 *  - embargo: M files of a campaign, ingested by the agent under embargo, whose embargo then ends;
 *    `mapper-agent embargo` (from header seals, and with every header re-read) against
 *    `chmod -R o+r` on a twin tree of the same shape; ratio = agent time / chmod time. Also the
 *    floor of any descriptor-checked change (bench/lift-ref.c) against the same chmod.
 * The agent and the probes run with the node flags it is deployed with (mapper-agent/node-flags.ts).
 */
import { chownSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, ftruncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Directory } from '../core/directory/index.js';
import { rangesConfigSchema } from '../core/ldap/config.js';
import { startManagedSlapd } from '../core/ldap/managed-slapd.js';
import { QUIET_MS } from '../mapper-agent/ingest/seal.js';
import { fitsFile } from '../test/support/fits.js';
import { median, report, rounds, runCommand } from './lib.js';
import { AGENT_NODE_FLAGS } from '../mapper-agent/node-flags.js';

/**
 * How the header seals of one big directory grow an enforcement run (bench/seal-memory-probe.ts: a
 * journal of N seals of one directory, loaded as the engine loads them, every name looked up): peak
 * RSS and what the seals keep, at 100k and 1M seals (BENCH_SEAL_SIZES to change them).
 */
function sealMemoryGrowth(base: string): void {
  const sizes = (process.env.BENCH_SEAL_SIZES ?? '100000,1000000').split(',').map(Number).filter((n) => n > 0);
  const grows: Record<string, number> = {};
  for (const n of sizes) {
    const journal = join(base, `seals-${n}.sqlite`);
    runCommand(process.execPath, [...AGENT_NODE_FLAGS, 'dist/bench/seal-memory-probe.js', 'fill', journal, String(n)]);
    const probe = runCommand(process.execPath, [...AGENT_NODE_FLAGS, 'dist/bench/seal-memory-probe.js', 'load', journal, String(n)]);
    const label = n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`;
    grows[`rss_mb_${label}`] = probe.peakRssMb;
    grows[`kept_bytes_per_seal_${label}`] = (JSON.parse(probe.stdout) as { bytes_per_entry: number }).bytes_per_entry;
    rmSync(journal, { force: true });
  }
  if (sizes.length) report('seal memory (one directory)', grows);
}

export async function benchIngest(scale: number): Promise<void> {
  const files = Math.round(100_000 * scale);
  const liftFiles = Math.round(1_000_000 * scale);
  const base = mkdtempSync(join(tmpdir(), 'cg-bench-ingest-'));
  const slapd = await startManagedSlapd({ dir: join(base, 'slapd') });
  try {
    const dir = new Directory({ ldap: slapd.connect('portal'), baseDn: slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
    await dir.people.create({ username: 'pi', displayName: 'PI' });
    const gids: number[] = [];
    for (let c = 0; c < 100; c++) gids.push((await dir.campaigns.create({ name: `c${c}`, pi: 'pi', embargoEnd: new Date('2030-01-01T00:00:00Z') })).gidNumber);
    await dir.campaigns.create({ name: 'ended', pi: 'pi', embargoEnd: new Date('2020-01-01T00:00:00Z') });
    const endedGid = (await dir.campaigns.require('ended')).gidNumber;
    const pi = (await dir.people.require('pi')).uidNumber;
    await dir.ldap.close();

    const root = join(base, 'data');
    const config = join(base, 'agent.yaml');
    writeFileSync(config, JSON.stringify({
      ldap: { url: slapd.url, bindDn: slapd.agent.dn, password: slapd.agent.password, baseDn: slapd.baseDn },
      agent: { stateDir: join(base, 'state'), ingest: { roots: [root], noticeDays: 0 } },
    }));
    const agent = (...args: string[]) => runCommand(process.execPath, [...AGENT_NODE_FLAGS, 'dist/mapper-agent/cli.js', '--config', config, ...args], { ...process.env, CG_LOG_LEVEL: 'error' });

    // ingest: 20 kB files (header block + data, sparse), 100 campaign directories
    console.log(`ingest: creating ${files} FITS files of 20 kB in 100 campaign directories ...`);
    const list: string[] = [];
    for (let c = 0; c < 100; c++) {
      const d = join(root, 'raw', `c${c}`);
      mkdirSync(d, { recursive: true });
      const header = fitsFile([['CAMPAIGN', `c${c}`]], 17_000);
      for (let i = c; i < files; i += 100) {
        const p = join(d, `obs${i}.fits`);
        const fd = openSync(p, 'w', 0o644);
        writeSync(fd, header, 0, 2880);
        ftruncateSync(fd, 20_000);
        closeSync(fd);
        list.push(p);
      }
    }
    const listFile = join(base, 'files.list');
    writeFileSync(listFile, list.join('\0') + '\0');
    const cref = join(base, 'ingest-ref');
    execFileSync('cc', ['-O2', '-o', cref, 'bench/ingest-ref.c']);
    const c = (uid: number, gid: number, mode: string) => {
      const out = runCommand(cref, [listFile, String(uid), String(gid), mode]).stdout;
      return Number(/seconds=([\d.]+)/.exec(out)![1]);
    };
    // The agent's own system calls per file, in C (bench/ingest-floor.c): what the calls cost apart from what the agent adds.
    const cfloor = join(base, 'ingest-floor');
    execFileSync('cc', ['-O2', '-o', cfloor, 'bench/ingest-floor.c']);
    const floor = (uid: number, gid: number, mode: string) => Number(/seconds=([\d.]+)/.exec(runCommand(cfloor, [join(root, 'raw'), String(uid), String(gid), mode]).stdout)![1]);
    // Each agent run starts with every file quiet (left alone for QUIET_MS, as `watch` hands them over
    // and as a bulk ingest of files landed earlier finds them): every header read is sealed
    // (seal.ts), the agent's full per-file work. Without the wait, whether a file is quiet would
    // depend on how long into the run it is reached: the pool's later directories sealed, the rest
    // not, and one core and the pool would not do the same work.
    const quiet = () => new Promise((r) => setTimeout(r, QUIET_MS + 200));
    c(0, 0, '644');
    const one: number[] = [], two: number[] = [], ref: number[] = [], ingestFloors: number[] = [], rss: number[] = [];
    for (let r = 0; r < rounds(); r++) {
      await quiet();
      const run1 = agent('ingest', '--workers', '1', join(root, 'raw'));
      one.push(run1.seconds);
      rss.push(run1.peakRssMb);
      ref.push(c(0, 0, '644')); // the same per-file work, back to the starting state
      await quiet();
      const run2 = agent('ingest', '--workers', '2', join(root, 'raw'));
      two.push(run2.seconds);
      rss.push(run2.peakRssMb);
      ingestFloors.push(floor(0, 0, '644')); // back to the starting state
    }
    const ratio1 = median(ref) / median(one);
    const ratio2 = median(ref) / median(two);
    report('ingest (one core)', { files, agent_files_s: files / median(one), c_files_s: files / median(ref), ratio: ratio1 }, { ok: ratio1 >= 0.8, target: 'agent >= 0.8x the C loop' });
    report('ingest (pool of two)', { files, agent_files_s: files / median(two), c_files_s: files / median(ref), ratio: ratio2, peak_rss_mb: Math.max(...rss) }, { ok: ratio2 > 1, target: 'faster than the C loop' });
    report('ingest floor (C, same calls)', { files, c_files_s: files / median(ingestFloors), vs_c_loop: median(ingestFloors) / median(ref) });
    report('ingest vs floor', { one_core: median(one) / median(ingestFloors), pool: median(two) / median(ingestFloors) });
    void pi;
    void gids;

    // embargo: FITS files (one header block) of one campaign, ingested by the agent while under
    // embargo (0640, header seals journaled), then the embargo ends and they are lifted. Two paths:
    //  - as the agent left them (the archive's case): each file decided from its header seal;
    //  - headers re-read (sealedHeaders: false; also what files changed outside the agent get).
    // The reference, `chmod -R o+r`, runs on a twin tree of the same shape: a chmod outside the agent
    // moves ctime, and the agent's tree would then be the second case.
    console.log(`embargo: creating ${liftFiles} files twice (the agent's tree and chmod's twin) ...`);
    const tree = join(root, 'lift');
    const twin = join(base, 'twin');
    const perDir = 1000;
    const endedHeader = fitsFile([['CAMPAIGN', 'ended']]);
    for (const [top, uid, gid, fileMode] of [[tree, 0, 0, 0o600], [twin, pi, endedGid, 0o640]] as const) {
      for (let d = 0; d * perDir < liftFiles; d++) {
        const dd = join(top, `d${d}`);
        mkdirSync(dd, { recursive: true });
        for (let i = 0; i < perDir && d * perDir + i < liftFiles; i++) {
          const p = join(dd, `f${i}.fits`);
          const fd = openSync(p, 'w', fileMode);
          writeSync(fd, endedHeader, 0, 2880);
          closeSync(fd);
          chownSync(p, uid, gid);
        }
      }
    }
    rmSync(join(root, 'raw'), { recursive: true, force: true });
    const embargoOf = async (end: Date) => {
      const d = new Directory({ ldap: slapd.connect('portal'), baseDn: slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
      try {
        await d.campaigns.setEmbargoEnd('ended', end);
      } finally {
        await d.ldap.close();
      }
    };
    await embargoOf(new Date('2030-01-01T00:00:00Z'));
    await quiet();
    agent('ingest', tree);
    await embargoOf(new Date('2020-01-01T00:00:00Z'));
    const reread = join(base, 'agent-reread.yaml');
    writeFileSync(reread, readFileSync(config, 'utf8').replace('"noticeDays":0', '"noticeDays":0,"sealedHeaders":false'));
    const rereading = (...args: string[]) => runCommand(process.execPath, [...AGENT_NODE_FLAGS, 'dist/mapper-agent/cli.js', '--config', reread, ...args], { ...process.env, CG_LOG_LEVEL: 'error' });
    const lift = (args: string[], sealed: boolean) => {
      const run = sealed ? agent('embargo', ...args) : rereading('embargo', ...args);
      const opened = Number(/(\d+) made world-readable/.exec(run.stdout)?.[1]);
      const fromSeals = Number(/(\d+) headers? not read again/.exec(run.stdout)?.[1] ?? 0);
      if (opened !== liftFiles || fromSeals !== (sealed ? liftFiles : 0)) throw new Error(`embargo lifted ${opened} of ${liftFiles} files, ${fromSeals} from seals: ${run.stdout.slice(0, 2000)}`);
      return run;
    };
    /** Back under embargo, by the agent (a re-embargo that reads every header, so every file is sealed again), and the embargo ended again. */
    const closeAgain = async () => {
      await embargoOf(new Date('2030-01-01T00:00:00Z'));
      await quiet();
      rereading('embargo');
      await embargoOf(new Date('2020-01-01T00:00:00Z'));
      await quiet();
    };
    const lifted: number[] = [], liftedOne: number[] = [], chmods: number[] = [], floors: number[] = [], liftRss: number[] = [];
    // The floor of a change through a verified descriptor (openat, fstat, fchmod, close: bench/lift-ref.c).
    const liftRef = join(base, 'lift-ref');
    execFileSync('cc', ['-O2', '-o', liftRef, 'bench/lift-ref.c']);
    const chmodTwin = () => {
      const seconds = runCommand('chmod', ['-R', 'o+r', twin]).seconds;
      execFileSync('chmod', ['-R', 'o-r', twin]);
      return seconds;
    };
    await quiet();
    for (let r = 0; r < rounds(); r++) {
      liftedOne.push(lift(['--workers', '1'], true).seconds);
      await closeAgain();
      const run = lift([], true); // agent.ingest.workers: as many as the cores, up to 4
      lifted.push(run.seconds);
      liftRss.push(run.peakRssMb);
      await closeAgain();
      chmods.push(chmodTwin());
      floors.push(Number(/seconds=([\d.]+)/.exec(runCommand(liftRef, [twin]).stdout)![1]));
      execFileSync('chmod', ['-R', 'o-r', twin]);
    }
    const lratio = median(lifted) / median(chmods);
    const chmodS = median(chmods);
    report('embargo lift (one core)', { files: liftFiles, agent_s: median(liftedOne), chmod_R_s: chmodS, ratio: median(liftedOne) / chmodS });
    report('embargo lift', { files: liftFiles, agent_s: median(lifted), chmod_R_s: chmodS, ratio: lratio, peak_rss_mb: Math.max(...liftRss) }, { ok: lratio <= 1.5, target: 'ratio <= 1.5' });
    report('lift floor (C, descriptor)', { files: liftFiles, c_s: median(floors), chmod_R_s: chmodS, ratio: median(floors) / chmodS });
    report('embargo lift vs floor', { one_core: median(liftedOne) / median(floors), pool: median(lifted) / median(floors) });

    sealMemoryGrowth(base);

    // The archive's case: the campaign's pages have left the cache (page cache dropped before each
    // run; inodes and dentries stay, so chmod -R is not slowed). Once, on the pool: headers re-read
    // against header seals. Needs root (/proc/sys/vm/drop_caches).
    const dropPages = () => {
      execFileSync('sync');
      writeFileSync('/proc/sys/vm/drop_caches', '1');
    };
    try {
      dropPages();
    } catch {
      console.log('lift, cold pages: skipped (cannot write /proc/sys/vm/drop_caches)');
      return;
    }
    const rereadCold = lift([], false).seconds;
    await closeAgain();
    dropPages();
    const sealedCold = lift([], true).seconds;
    dropPages();
    const chmodCold = chmodTwin();
    report('lift, cold pages, re-read', { files: liftFiles, agent_s: rereadCold, chmod_R_s: chmodCold, ratio: rereadCold / chmodCold });
    report('lift, cold pages, sealed', { files: liftFiles, agent_s: sealedCold, chmod_R_s: chmodCold, ratio: sealedCold / chmodCold });
  } finally {
    await slapd.stop();
    rmSync(base, { recursive: true, force: true });
  }
}
