/**
 * `mapper-agent traces …`: verify the store, export it (JSON Lines), find traces by hash or name,
 * show one trace, write one batch's signature and root for openssl, check one trace's inclusion
 * from its exported line. Everything but `inclusion` reads the store of the configuration
 * (read-only: verifying never seals or changes anything).
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import type { AgentConfig } from '../config.js';
import type { CrlMode } from './trust.js';
import { loadTraceTrust } from './trust.js';
import { TraceStore, type StoredBatch, type StoredTrace } from './store.js';
import { tracesPath } from './session.js';
import { batchLine, checkInclusion, exportLine, verifyStore, type VerifyReport } from './verify.js';
import { count } from '../../core/plural.js';

type Out = (line: string) => void;

export function openStoreReadOnly(cfg: AgentConfig, o: { lookup?: boolean } = {}): TraceStore {
  const file = tracesPath(cfg.agent.traces, cfg.agent.stateDir);
  if (!existsSync(file)) throw new ConfigError(`no trace store at ${file} (agent.traces.file / agent.stateDir)`);
  // find keeps its lookup table current when it may write (root on the agent host); a copy it cannot write is scanned
  const writable = o.lookup && canWrite(file) && canWrite(dirname(file));
  return new TraceStore(file, { readonly: !writable });
}

function canWrite(p: string): boolean {
  try {
    accessSync(p, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export async function tracesVerify(cfg: AgentConfig, out: Out, o: { caPaths?: string[]; crlPaths?: string[]; crlMode?: CrlMode; json?: boolean } = {}): Promise<VerifyReport> {
  const t = cfg.agent.traces;
  const caPaths = o.caPaths?.length ? o.caPaths : t.caPaths;
  const trust = loadTraceTrust(caPaths, o.crlPaths?.length ? o.crlPaths : t.crlPaths.length ? t.crlPaths : caPaths, o.crlMode ?? t.crlMode);
  const store = openStoreReadOnly(cfg);
  try {
    const r = await verifyStore(store, trust);
    if (o.json) out(JSON.stringify({ ...r, trustProblems: trust.snapshot.problems }));
    else {
      for (const p of trust.snapshot.problems) out(`trust directory: ${p}`);
      out(`${r.ok ? 'ok' : 'FAILED'}: ${count(r.traces, 'trace')} in ${count(r.batches, 'signed batch', 'signed batches')}, ${r.unsealed} not signed yet; signed by ${r.signers.join('; ') || 'nobody'}`);
      for (const p of r.problems) out(`  problem: ${p}`);
      for (const w of r.warnings) out(`  warning: ${w}`);
    }
    return r;
  } finally {
    store.close();
  }
}

/** Every batch line followed by its traces, in chain order; unsealed traces last. */
export function tracesExport(cfg: AgentConfig, out: Out): number {
  const store = openStoreReadOnly(cfg);
  try {
    const batches = new Map(store.batches().map((b) => [b.id, b]));
    let n = 0;
    let last: number | null | undefined;
    for (const t of store.traces()) {
      if (t.batch !== last && t.batch !== null && batches.has(t.batch)) out(JSON.stringify(batchLine(batches.get(t.batch)!)));
      last = t.batch;
      out(JSON.stringify(exportLine(t, t.batch === null ? undefined : batches.get(t.batch))));
      n++;
    }
    return n;
  } finally {
    store.close();
  }
}

export function tracesFind(cfg: AgentConfig, out: Out, o: { hash?: string; name?: string }): number {
  if (!o.hash === !o.name) throw new ConfigError('give one of --hash or --name');
  const store = openStoreReadOnly(cfg, { lookup: true });
  try {
    const found = o.hash ? store.findByHash(o.hash) : store.findByName(o.name!);
    for (const t of found) out(JSON.stringify(lineOf(store, t)));
    return found.length;
  } finally {
    store.close();
  }
}

export function tracesShow(cfg: AgentConfig, out: Out, seq: number): void {
  const store = openStoreReadOnly(cfg);
  try {
    const t = store.trace(seq);
    if (!t) throw new NotFoundError(`no trace ${seq}`);
    out(JSON.stringify(lineOf(store, t)));
  } finally {
    store.close();
  }
}

function lineOf(store: TraceStore, t: StoredTrace) {
  return exportLine(t, t.batch === null ? undefined : store.batch(t.batch));
}

/** Write batch-<id>.p7s (CMS SignedData, DER) and batch-<id>.root (the 32-byte Merkle root) into `dir`. */
export function tracesExportBatch(cfg: AgentConfig, out: Out, id: number, dir: string): { p7s: string; root: string; batch: StoredBatch } {
  const store = openStoreReadOnly(cfg);
  try {
    const b = store.batch(id);
    if (!b) throw new NotFoundError(`no batch ${id}`);
    mkdirSync(dir, { recursive: true });
    const p7s = join(dir, `batch-${id}.p7s`);
    const root = join(dir, `batch-${id}.root`);
    writeFileSync(p7s, b.signature);
    writeFileSync(root, Buffer.from(b.root, 'hex'));
    out(`${p7s}\n${root}\ncheck with: openssl cms -verify -binary -inform DER -in ${p7s} -content ${root} -CApath /etc/grid-security/certificates -purpose any -crl_check -out /dev/null`);
    return { p7s, root, batch: b };
  } finally {
    store.close();
  }
}

/** Check exported trace lines (a file, or the text given) against their roots, optionally one root file checked with openssl. */
export function tracesInclusion(text: string, out: Out, o: { root?: string } = {}): boolean {
  let expected: Buffer | undefined;
  if (o.root) {
    const raw = readFileSync(o.root);
    expected = raw.length === 32 ? raw : Buffer.from(raw.toString('latin1').trim(), 'hex');
    if (expected.length !== 32) throw new ConfigError(`${o.root}: not a 32-byte root (raw, or 64 hex digits)`);
  }
  let ok = true;
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      ok = false;
      out('not JSON: ' + line.slice(0, 80));
      continue;
    }
    if ((parsed as { type?: string }).type === 'batch') continue;
    n++;
    const r = checkInclusion(parsed, expected);
    const p = parsed as { seq?: number; batch?: number; record?: { path?: string } };
    out(`${r.ok ? 'included' : 'NOT included'}: trace ${String(p.seq)} (${p.record?.path ?? '?'}) in batch ${String(p.batch)}${r.ok ? '' : `: ${r.problem}`}`);
    ok &&= r.ok;
  }
  if (!n) {
    out('no trace line given');
    return false;
  }
  return ok;
}
