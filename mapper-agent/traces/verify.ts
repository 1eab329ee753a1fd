/**
 * `traces verify`: everything an auditor needs to believe a trace store.
 *  - chain: records numbered 1, 2, 3 … without gaps; each record's text hashes to its stored hash
 *    and names the previous record's hash (an edited, deleted, inserted or reordered record breaks it);
 *  - batches: contiguous, each record in exactly one; the Merkle root over the batch's record
 *    hashes equals the stored root, and each stored inclusion proof leads to it;
 *  - signatures: the CMS SignedData over each root verifies with the certificate it carries; that
 *    certificate chains to the trust directory, was valid when it signed, is not revoked (CRLs),
 *    and names the host the records say they come from (a batch re-signed with another host's key
 *    or an untrusted key fails).
 * Streams the records: memory is one batch.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { hostNames, verifyDetached } from '../../core/pki/cms.js';
import { leafHash, rootOf, verifyInclusion } from './merkle.js';
import { GENESIS, recordHash, type TraceRecord } from './record.js';
import type { StoredBatch, StoredTrace, TraceStore } from './store.js';
import { checkSigner, type Trust } from './trust.js';

export interface VerifyReport {
  ok: boolean;
  traces: number;
  batches: number;
  /** records not yet in a signed batch (a process crashed before sealing, or one is running) */
  unsealed: number;
  problems: string[];
  warnings: string[];
  /** distinct signing certificates, by subject */
  signers: string[];
}

const MAX_PROBLEMS = 1000;

export async function verifyStore(store: TraceStore, trust: Trust, now = new Date()): Promise<VerifyReport> {
  const report: VerifyReport = { ok: false, traces: 0, batches: 0, unsealed: 0, problems: [], warnings: [], signers: [] };
  const problem = (p: string) => {
    if (report.problems.length < MAX_PROBLEMS) report.problems.push(p);
    else if (report.problems.length === MAX_PROBLEMS) report.problems.push('… more problems not listed');
  };
  const batchRows = new Map(store.batches().map((b) => [b.id, b]));
  const sealedUpTo = Math.max(0, ...[...batchRows.values()].map((b) => b.last));
  const seenBatches = new Set<number>();
  const signerCache = new Map<string, Promise<{ ok: boolean; problems: string[]; subject?: string; names: string[] }>>();
  const signers = new Set<string>();
  let expect = 1;
  let prev = GENESIS;
  let lastBatch = 0;
  let lastSealedSeq = 0;
  let current: { id: number; items: { t: StoredTrace; hash: string; host: string | undefined }[] } | undefined;

  const checkBatch = async (id: number, items: { t: StoredTrace; hash: string; host: string | undefined }[]) => {
    report.batches++;
    const b = batchRows.get(id);
    if (!b) return problem(`batch ${id}: records ${items[0]!.t.seq}-${items[items.length - 1]!.t.seq} name it, but there is no such batch (deleted?)`);
    if (seenBatches.has(id)) return problem(`batch ${id}: its records are not contiguous (reordered?)`);
    seenBatches.add(id);
    if (id <= lastBatch) problem(`batch ${id} follows batch ${lastBatch}: batches out of order`);
    lastBatch = id;
    if (b.size !== items.length || b.first !== items[0]!.t.seq || b.last !== items[items.length - 1]!.t.seq) {
      problem(`batch ${id}: signed for records ${b.first}-${b.last} (${b.size}), holds ${items[0]!.t.seq}-${items[items.length - 1]!.t.seq} (${items.length}): records deleted, added or moved`);
    }
    const root = Buffer.from(b.root, 'hex');
    const leaves = items.map((i) => leafHash(Buffer.from(i.hash, 'hex')));
    if (!rootOf(leaves).equals(root)) problem(`batch ${id}: the Merkle root of its records is not its signed root: a record of records ${b.first}-${b.last} was changed`);
    items.forEach((i, k) => {
      if (i.t.leaf !== k) problem(`record ${i.t.seq}: stored as leaf ${i.t.leaf} of batch ${id}, is leaf ${k}`);
      else if (!verifyInclusion(leaves[k]!, k, b.size, i.t.proof.map((p) => Buffer.from(p, 'hex')), root)) problem(`record ${i.t.seq}: its inclusion proof does not lead to the root of batch ${id}`);
    });
    await checkSignature(b, items.map((i) => i.host));
  };

  const checkSignature = async (b: StoredBatch, hosts: (string | undefined)[]) => {
    const cms = await verifyDetached(b.signature, Buffer.from(b.root, 'hex'));
    if (!cms.ok || !cms.signerDer) return problem(`batch ${b.id}: ${cms.problem ?? 'no signer'}`);
    const fp = createHash('sha256').update(cms.signerDer).digest('hex');
    const key = `${fp}|${cms.signingTime?.toISOString() ?? ''}`;
    let check = signerCache.get(key);
    if (!check) {
      check = checkSigner(cms.signerDer, cms.others, trust, { now, ...(cms.signingTime ? { validAt: cms.signingTime } : {}) }).then((c) => ({ ...c, names: safeNames(cms.signerDer!) }));
      signerCache.set(key, check);
    }
    const c = await check;
    if (c.subject) signers.add(c.subject);
    if (!cms.signingTime) problem(`batch ${b.id}: the signature has no signing time`);
    else if (cms.signingTime.getTime() > now.getTime() + 300_000) problem(`batch ${b.id}: signed in the future (${cms.signingTime.toISOString()})`);
    for (const p of c.problems) problem(`batch ${b.id}: ${p}`);
    const bad = [...new Set(hosts.filter((h) => h === undefined || !c.names.includes(h.toLowerCase())))];
    if (bad.length) problem(`batch ${b.id}: signed by ${c.subject ?? 'an unreadable certificate'}, which does not name the host of its records (${bad.map((h) => h ?? '?').join(', ')}): re-signed with another key?`);
    if (c.ok && fp !== b.signer) report.warnings.push(`batch ${b.id}: the recorded signer fingerprint differs from the certificate in the signature`);
    if (c.ok && cms.signerDer) {
      const validTo = new Date(new X509Certificate(cms.signerDer).validTo); // parsed already by checkSigner
      if (validTo < now) report.warnings.push(`batch ${b.id}: signed while the certificate was valid; it has expired since (${validTo.toISOString()})`);
    }
  };

  for (const t of store.traces()) {
    report.traces++;
    if (t.seq !== expect) {
      problem(t.seq > expect ? `records ${expect}-${t.seq - 1} are missing (deleted)` : `record ${t.seq} is out of order`);
      expect = t.seq;
    }
    const hash = recordHash(t.text);
    if (hash !== t.hash) problem(`record ${t.seq}: its text does not hash to its stored hash (edited)`);
    let r: Partial<TraceRecord> | undefined;
    try {
      r = JSON.parse(t.text) as Partial<TraceRecord>;
    } catch {
      problem(`record ${t.seq}: not JSON`);
    }
    if (r) {
      if (r.seq !== t.seq) problem(`record ${t.seq}: says it is record ${String(r.seq)} (moved or renumbered)`);
      if (r.prev !== prev) problem(`record ${t.seq}: does not follow the record before it (chain broken: a record before it was edited, deleted or reordered)`);
    }
    prev = hash;
    expect = t.seq + 1;
    if (t.batch === null && t.seq <= sealedUpTo) {
      problem(`record ${t.seq}: lies in a signed batch but has no inclusion proof (deleted)`);
      continue;
    }
    if (t.batch === null) {
      report.unsealed++;
      continue;
    }
    if (report.unsealed) problem(`record ${t.seq}: sealed after unsealed records`);
    lastSealedSeq = t.seq;
    if (current && current.id !== t.batch) {
      await checkBatch(current.id, current.items);
      current = undefined;
    }
    current ??= { id: t.batch, items: [] };
    current.items.push({ t, hash, host: typeof r?.host === 'string' ? r.host : undefined });
  }
  if (current) await checkBatch(current.id, current.items);
  for (const b of batchRows.values()) if (!seenBatches.has(b.id)) problem(`batch ${b.id} (records ${b.first}-${b.last}): no record is stored for it (deleted)`);
  if (report.unsealed) report.warnings.push(`${report.unsealed} records after record ${lastSealedSeq} are not signed yet (the agent seals them when a command ends, or when it opens the store next)`);
  report.signers = [...signers];
  report.ok = report.problems.length === 0;
  return report;
}

function safeNames(der: Uint8Array): string[] {
  try {
    return hostNames(der);
  } catch {
    return [];
  }
}

/** One exported trace line (see exportLine): what an auditor checks with `traces inclusion`. */
export interface TraceLine {
  type: 'trace';
  seq: number;
  hash: string;
  batch: number | null;
  leaf: number | null;
  size: number | null;
  root: string | null;
  proof: string[];
  record: TraceRecord;
}

export function exportLine(t: StoredTrace, batch: StoredBatch | undefined): TraceLine {
  return { type: 'trace', seq: t.seq, hash: t.hash, batch: t.batch, leaf: t.leaf, size: batch?.size ?? null, root: batch?.root ?? null, proof: t.proof, record: JSON.parse(t.text) as TraceRecord };
}

export function batchLine(b: StoredBatch): Record<string, unknown> {
  return { type: 'batch', id: b.id, first: b.first, last: b.last, size: b.size, root: b.root, signedAt: b.signedAt, signer: b.signer, signature: b.signature.toString('base64') };
}

/**
 * One trace's inclusion in its batch, from its exported line alone: the record hashes to `hash`
 * (SHA-256 of the record's JSON text exactly as exported), and the proof leads from
 * SHA-256(0x00 || hash) to `root` (and to `expectedRoot`, the root whose signature was checked with
 * openssl, when given). Never throws.
 */
export function checkInclusion(line: unknown, expectedRoot?: Buffer): { ok: boolean; problem?: string } {
  try {
    const l = line as TraceLine;
    if (!l || l.type !== 'trace' || typeof l.hash !== 'string' || typeof l.record !== 'object') return { ok: false, problem: 'not a trace line of `traces export`' };
    if (recordHash(JSON.stringify(l.record)) !== l.hash) return { ok: false, problem: 'the record does not hash to the line\'s hash' };
    if (l.record.seq !== l.seq) return { ok: false, problem: 'the record is not the line\'s record number' };
    if (l.leaf === null || l.size === null || l.root === null || !Array.isArray(l.proof)) return { ok: false, problem: 'not sealed in a batch yet' };
    if (!/^[0-9a-f]{64}$/.test(l.root) || l.proof.some((p) => !/^[0-9a-f]{64}$/.test(p))) return { ok: false, problem: 'malformed root or proof' };
    const root = Buffer.from(l.root, 'hex');
    if (expectedRoot && !root.equals(expectedRoot)) return { ok: false, problem: `its batch root ${l.root} is not the given root ${expectedRoot.toString('hex')}` };
    if (!verifyInclusion(leafHash(Buffer.from(l.hash, 'hex')), l.leaf, l.size, l.proof.map((p) => Buffer.from(p, 'hex')), root)) return { ok: false, problem: 'the inclusion proof does not lead to the root' };
    return { ok: true };
  } catch (err) {
    return { ok: false, problem: `malformed line: ${(err as Error).message}` };
  }
}
