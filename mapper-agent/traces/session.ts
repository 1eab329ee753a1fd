/**
 * Traces of one agent command (ingest, watch, verify --fix, embargo): hooked into the ingest
 * engine, it turns every applied change into a trace record.
 *
 * The engine calls `onChange` for every change once it is applied (files, quarantines,
 * directories), then `afterApply` with the applied file changes and the verified descriptors they
 * were applied through (today without quarantines and directories). The session keeps what
 * onChange saw and writes it when afterApply comes, in the order applied: a change whose
 * descriptor afterApply hands over gets its checksums (SHA-256, SHA3-256, Adler-32) read through
 * that descriptor; the others (quarantines, directories) are traced without checksums. With
 * Rucio on, the Adler-32 is computed in the same pass and handed back: the Rucio hook needs no
 * second read.
 */
import { join } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import type { AppliedChange } from '../ingest/engine.js';
import type { ChangeKind, PlannedChange } from '../ingest/journal.js';
import type { TracesConfig } from './config.js';
import { loadSigner, SignerError, type Signer } from '../../core/pki/cms.js';
import { hashFd, traceOwnership, type TraceEvent, type TraceHash } from './record.js';
import { TraceStore, type TraceEntry } from './store.js';

export interface TraceContext {
  /** the command as the journal names it ("ingest /data/x") */
  command: string;
  /** the journal's run id */
  run: number | null;
  /** the event an applied `ingest` change is: `fix` for verify --fix */
  ingestEvent?: TraceEvent;
  /** also Adler-32 (Rucio's checksum; on when Rucio is) */
  adler32?: boolean;
}

export function tracesPath(cfg: TracesConfig, stateDir: string): string {
  return cfg.file || join(stateDir, 'traces.sqlite');
}

/**
 * The signer of the configuration, refused (ConfigError: exit 4, nothing changed) when it cannot
 * sign now: unreadable, key and certificate apart, not yet valid or expired.
 */
export function configuredSigner(cfg: TracesConfig, now = new Date()): Signer {
  let signer: Signer;
  try {
    signer = loadSigner(cfg.certFile, cfg.keyFile);
  } catch (err) {
    throw new ConfigError(`agent.traces: ${(err as SignerError).message}`);
  }
  if (now < signer.notBefore || now > signer.notAfter) {
    throw new ConfigError(`agent.traces: the signing certificate ${cfg.certFile} is valid from ${signer.notBefore.toISOString()} to ${signer.notAfter.toISOString()}, not now: renew it`);
  }
  return signer;
}

export class TraceSession {
  private seen: PlannedChange[] = [];
  /** problems met while tracing (a checksum that could not be read); bounded */
  readonly problems: string[] = [];

  constructor(readonly store: TraceStore, private readonly ctx: TraceContext) {}

  static open(cfg: TracesConfig, stateDir: string, ctx: TraceContext): TraceSession {
    const signer = configuredSigner(cfg);
    return new TraceSession(new TraceStore(tracesPath(cfg, stateDir), { signer, batchSize: cfg.batchSize }), ctx);
  }

  /** The engine's onChange: a change was applied. */
  readonly onChange = (change: PlannedChange): void => {
    this.seen.push(change);
  };

  /**
   * The engine's afterApply: write the records of everything applied since the last call, with
   * checksums read through the descriptors handed over. Returns each traced file's Adler-32.
   */
  afterApply(applied: AppliedChange[]): Map<PlannedChange, { adler32: string; bytes: number }> {
    const fds = new Map(applied.map((a) => [a.change, a]));
    const sums = new Map<PlannedChange, { adler32: string; bytes: number }>();
    const changes = this.seen.splice(0);
    const listed = new Set(changes);
    for (const a of applied) if (!listed.has(a.change)) changes.push(a.change); // applied without onChange: traced all the same
    const time = new Date().toISOString();
    const entries: TraceEntry[] = changes.map((c) => {
      const a = fds.get(c);
      let hashes: TraceHash[] = [];
      let size: number | null = null;
      if (a && c.kind !== 'directory') {
        try {
          const h = hashFd(a.fd, a.size, this.ctx.adler32 ?? true);
          hashes = h.hashes;
          size = h.bytes;
          if (h.adler32) sums.set(c, { adler32: h.adler32, bytes: h.bytes });
        } catch (err) {
          if (this.problems.length < 200) this.problems.push(`${c.path}: traced without checksums: ${(err as Error).message}`);
        }
      }
      return this.entry(c, time, size, hashes);
    });
    this.store.append(entries);
    return sums;
  }

  private entry(c: PlannedChange, time: string, size: number | null, hashes: TraceHash[]): TraceEntry {
    return {
      time, event: this.event(c.kind), campaign: c.campaign ?? null, path: c.path, size, hashes, products: [], decision: c.reason,
      before: traceOwnership(c.before), after: traceOwnership(c.target), context: { command: this.ctx.command, run: this.ctx.run, pid: process.pid },
    };
  }

  private event(kind: ChangeKind): TraceEvent {
    if (kind === 'ingest') return this.ctx.ingestEvent ?? 'ingest';
    return kind;
  }

  /** Trace what onChange saw and afterApply never came for, seal the rest, close the store. */
  close(): void {
    try {
      if (this.seen.length) this.afterApply([]);
    } finally {
      this.store.close();
    }
  }
}
