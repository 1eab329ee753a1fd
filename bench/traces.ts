/**
 * Benchmark (issue 18, signed traces), in this process on one core, no directory server:
 *  - ingest with traces: N 20 kB FITS files across 100 campaigns, the ingest engine run once without
 *    traces and once with them (SHA-256 and SHA3-256 of every file through its descriptor,
 *    records chained and stored, batches of 1024 sealed and signed with an RSA-2048 host key), same
 *    files, same run, several rounds; ratio = time with traces / time without; traces/s = N / time
 *    with traces. traces/s = N / (time with traces - time without): what the trace work itself
 *    sustains on this core. Target: >= 5,000 traces/s signed and stored. SHA-256 + SHA3-256 as
 *    configured by default (Adler-32 only with Rucio).
 *  - store alone: appending and sealing records whose hashes are already known (what traces cost
 *    beyond reading the files).
 */
import { chmodSync, chownSync, closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Classifier } from '../core/embargo/classify.js';
import { classificationSchema, modesSchema } from '../core/embargo/rules.js';
import type { CampaignFacts } from '../core/embargo/policy.js';
import { IngestEngine } from '../mapper-agent/ingest/engine.js';
import { Journal } from '../mapper-agent/ingest/journal.js';
import { loadSigner } from '../core/pki/cms.js';
import { TraceSession } from '../mapper-agent/traces/session.js';
import { TraceStore, type TraceEntry } from '../mapper-agent/traces/store.js';
import { createCa, issue } from '../test/support/pki.js';
import { fitsFile } from '../test/support/fits.js';
import { median, report, rounds } from './lib.js';

export async function benchTraces(scale: number): Promise<void> {
  const files = Math.max(100, Math.round(50_000 * scale));
  const base = mkdtempSync(join(tmpdir(), 'cg-bench-traces-'));
  try {
    const ca = await createCa('CN=Bench CA');
    const host = await issue(ca, 'CN=bench.example.org', 'server', { dnsNames: ['bench.example.org'] });
    writeFileSync(join(base, 'hostcert.pem'), host.certPem);
    writeFileSync(join(base, 'hostkey.pem'), host.keyPem, { mode: 0o600 });
    const signer = loadSigner(join(base, 'hostcert.pem'), join(base, 'hostkey.pem'));

    const root = join(base, 'data');
    const campaigns = new Map<string, CampaignFacts>();
    const paths: string[] = [];
    console.log(`traces: creating ${files} FITS files of 20 kB in 100 campaign directories ...`);
    for (let c = 0; c < 100; c++) {
      campaigns.set(`c${c}`, { name: `c${c}`, piUid: 10_000 + c, gid: 20_000 + c, embargoEnd: new Date('2030-01-01T00:00:00Z') });
      const d = join(root, `c${c}`);
      mkdirSync(d, { recursive: true });
      chmodSync(d, 0o2750);
      chownSync(d, 0, 20_000 + c);
      const header = fitsFile([['CAMPAIGN', `c${c}`]], 17_000);
      for (let i = c; i < files; i += 100) {
        const p = join(d, `obs${i}.fits`);
        const fd = openSync(p, 'w', 0o644);
        writeSync(fd, header, 0, 2880);
        ftruncateSync(fd, 20_000);
        closeSync(fd);
        paths.push(p);
      }
    }
    const reset = () => {
      for (const p of paths) {
        chownSync(p, 0, 0);
        chmodSync(p, 0o644);
      }
    };
    const classifier = new Classifier(classificationSchema.parse({}));
    const modes = modesSchema.parse({});
    let n = 0;
    const run = async (traced: boolean): Promise<number> => {
      reset();
      const journal = new Journal(join(base, `journal-${++n}.sqlite`), 'bench');
      const session = traced ? new TraceSession(new TraceStore(join(base, `traces-${n}.sqlite`), { signer, batchSize: 1024 }), { command: 'bench', run: journal.run, adler32: false }) : undefined;
      const start = process.hrtime.bigint();
      const r = await new IngestEngine({
        roots: [root], classifier, modes, resolve: (c) => campaigns.get(c), journal, now: new Date(), batchSize: 256,
        ...(session ? { onChange: session.onChange, afterApply: async (a) => void session.afterApply(a) } : {}),
      }).ingest([root]);
      session?.close();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      journal.close();
      if (r.changed !== files) throw new Error(`expected ${files} changes, got ${r.changed}`);
      return seconds;
    };
    await run(false); // warm-up (page cache, JIT)
    const plain: number[] = [];
    const traced: number[] = [];
    for (let r = 0; r < rounds(); r++) {
      plain.push(await run(false));
      traced.push(await run(true));
    }
    const ratio = median(traced) / median(plain);
    // traces/s: what the trace work alone (hashing through the descriptor, chaining, storing, signing) sustains on this core
    const tracesPerSecond = files / Math.max(1e-9, median(traced) - median(plain));
    report('ingest with traces', { files, plain_files_s: files / median(plain), traced_files_s: files / median(traced), ratio, traces_s: tracesPerSecond }, { ok: tracesPerSecond >= 5000, target: '>= 5,000 traces/s signed and stored (traces_s = files / (time with - time without))' });

    // the store alone: records with known hashes, appended in engine-sized batches, sealed and signed
    const entries: TraceEntry[] = Array.from({ length: 256 }, (_, i) => ({
      time: new Date().toISOString(), event: 'ingest', campaign: 'c1', path: `/data/c1/obs${i}.fits`, size: 20_000,
      hashes: [{ alg: 'sha256', value: 'a'.repeat(64) }, { alg: 'sha3-256', value: 'b'.repeat(64) }, { alg: 'adler32', value: 'cccccccc' }],
      products: [], decision: 'campaign c1, embargo until 2030-01-01', before: { uid: 0, gid: 0, mode: '0644' }, after: { uid: 10001, gid: 20001, mode: '0640' },
      context: { command: 'bench', run: 1, pid: process.pid },
    }));
    const storeOnly: number[] = [];
    const records = Math.ceil(files / 256) * 256;
    for (let r = 0; r < rounds(); r++) {
      const store = new TraceStore(join(base, `store-only-${r}.sqlite`), { signer, batchSize: 1024 });
      const start = process.hrtime.bigint();
      for (let k = 0; k < records; k += 256) store.append(entries);
      store.close();
      storeOnly.push(Number(process.hrtime.bigint() - start) / 1e9);
    }
    const storeRate = records / median(storeOnly);
    report('traces: store alone', { records, records_s: storeRate, batches: Math.ceil(records / 1024) }, { ok: storeRate >= 5000, target: '>= 5,000 records/s chained, stored, sealed, signed' });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
