/**
 * UID/GID allocation. Each kind has a counter entry (cn=uidNumber / cn=gidNumber, ou=allocation)
 * whose cgNextValue is the next number to hand out. A number is claimed by compare-and-swap in
 * one LDAP modify: delete the value we read, add value+1. If someone else moved the counter
 * first, the delete fails (noSuchAttribute) and the whole modify is rejected; we re-read and try
 * again after a short random pause. The counter only grows, so a number is never handed out twice,
 * even after the account or campaign that had it is deleted. A claimed number that is already
 * present in the directory (accounts imported with their own numbers) is skipped.
 */
import { ConfigError, ConflictError, DirectoryUnavailableError, RangeExhaustedError } from '../errors.js';
import { childDn } from '../ldap/escape.js';
import type { NumberRange, RangesConfig } from '../ldap/config.js';
import type { LdapConnection } from '../ldap/connection.js';
import { LdapResult, ldapResultCode } from '../ldap/errors.js';
import type { DirectoryLayout } from './layout.js';

export type NumberKind = 'uid' | 'gid';

export interface AllocatorOptions {
  /** Give up after this long under contention (default 20 s). */
  deadlineMs?: number;
  /** Upper bound of the random pause between attempts, in ms (default 40). */
  maxBackoffMs?: number;
  /**
   * Multi-provider: this writer's share of every range (docs/replication.md). Writer `index` of
   * `count` hands out only the numbers n with (n - range.min) mod count = index, from a counter of
   * its own (cn=uidNumber-<index>-of-<count>), which no other writer ever changes: the
   * compare-and-swap stays on one server, so two providers can never hand out the same number,
   * whatever replication does. Absent: one writer, the shared counters cn=uidNumber/cn=gidNumber.
   */
  partition?: { index: number; count: number };
}

export class NumberAllocator {
  private readonly deadlineMs: number;
  private readonly maxBackoffMs: number;
  private readonly partition: { index: number; count: number } | undefined;

  constructor(
    private readonly ldap: LdapConnection,
    private readonly layout: DirectoryLayout,
    private readonly ranges: RangesConfig,
    options: AllocatorOptions = {},
  ) {
    this.deadlineMs = options.deadlineMs ?? 20000;
    this.maxBackoffMs = options.maxBackoffMs ?? 40;
    const part = options.partition;
    if (part && !(Number.isInteger(part.count) && part.count >= 1 && Number.isInteger(part.index) && part.index >= 0 && part.index < part.count)) {
      throw new ConfigError(`allocation partition ${JSON.stringify(part)}: index must be 0..count-1`);
    }
    this.partition = part && part.count > 1 ? part : undefined;
  }

  /** The entry naming the one writer allowed to claim names in multi-provider mode (cn=writer,ou=allocation; cgNextValue = its partition index). */
  writerDn(): string {
    return childDn('cn', 'writer', this.layout.allocation);
  }

  /**
   * Multi-provider: refuse a claim of a name (username, identity, campaign) or a compare-and-swap
   * decision (a membership request decided or withdrawn, a half-made account undone) unless this
   * writer is the designated one (docs/replication.md, "What needs a single writer"). Both are
   * atomic on one server only: two providers accepting the same add, or the same swap out of
   * 'pending', would both succeed. Single-writer setups (no partition) pass. With a partition and
   * no designation, it is refused too.
   */
  async assertDesignatedWriter(what: string): Promise<void> {
    if (!this.partition) return;
    const designated = await this.designatedNameWriter();
    if (designated !== this.partition.index) {
      throw new ConflictError(
        `${what} must be written at the designated writer (${designated === undefined ? 'none designated' : `writer ${designated}`}); this portal is writer ${this.partition.index}: point ldap.url at the designated provider, or designate this one`,
      );
    }
  }

  /** This allocator's share of the ranges (multi-provider), or undefined for a single writer. */
  get writerPartition(): { index: number; count: number } | undefined {
    return this.partition;
  }

  /** The designated name writer's index, or undefined when none is designated. */
  async designatedNameWriter(): Promise<number | undefined> {
    return (await this.ldap.read(this.writerDn(), ['cgNextValue']))?.getInt('cgNextValue');
  }

  /** Make writer `index` the designated one (an administrator's decision, e.g. when its peer is down for good). */
  async designateNameWriter(index: number): Promise<void> {
    const dn = this.writerDn();
    const current = await this.ldap.read(dn, ['cgNextValue']);
    if (!current) {
      await this.ldap.add(dn, { objectClass: ['top', 'cgCounter'], cn: 'writer', cgNextValue: String(Math.trunc(index)), description: 'the writer allowed to claim names (multi-provider)' });
    } else {
      await this.ldap.modify(dn, [{ operation: 'replace', attribute: 'cgNextValue', values: [String(Math.trunc(index))] }]);
    }
  }

  /** The counter entry this allocator changes. */
  counterDn(kind: NumberKind): string {
    if (!this.partition) return this.layout.counterDn(kind);
    return childDn('cn', `${kind}Number-${this.partition.index}-of-${this.partition.count}`, this.layout.allocation);
  }

  /** The first number of this writer's share that is ≥ n. */
  private align(kind: NumberKind, n: number): number {
    if (!this.partition) return n;
    const { min } = this.range(kind);
    const { index, count } = this.partition;
    const offset = (((n - min - index) % count) + count) % count;
    return offset === 0 ? n : n + (count - offset);
  }

  private step(): number {
    return this.partition?.count ?? 1;
  }

  range(kind: NumberKind): NumberRange {
    return kind === 'uid' ? this.ranges.uid : this.ranges.gid;
  }

  /** The number the next allocate() would try (the counter's current value, at least range.min). */
  async peek(kind: NumberKind): Promise<number> {
    const current = await this.readCounter(kind);
    return this.align(kind, Math.max(current ?? this.range(kind).min, this.range(kind).min));
  }

  /** Claim a number that no one else got and no entry uses. Throws RangeExhaustedError when the range is used up. */
  async allocate(kind: NumberKind): Promise<number> {
    const range = this.range(kind);
    const counterDn = this.counterDn(kind);
    const deadline = Date.now() + this.deadlineMs;
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > deadline) {
        throw new DirectoryUnavailableError(`could not allocate a ${kind}Number within ${this.deadlineMs} ms (counter contention)`);
      }
      const current = await this.readCounter(kind);
      if (current === undefined) {
        // A writer's own counter starts past the shared one (numbers handed out before the split).
        const shared = this.partition ? (await this.ldap.read(this.layout.counterDn(kind), ['cgNextValue']))?.getInt('cgNextValue') : undefined;
        await this.createCounter(kind, this.align(kind, Math.max(shared ?? range.min, range.min)));
        continue;
      }
      const candidate = this.align(kind, Math.max(current, range.min));
      if (candidate > range.max) {
        throw new RangeExhaustedError(`the ${kind}Number range ${range.min}-${range.max} is used up (next would be ${candidate})`);
      }
      try {
        await this.ldap.modify(counterDn, [
          { operation: 'delete', attribute: 'cgNextValue', values: [String(current)] },
          { operation: 'add', attribute: 'cgNextValue', values: [String(candidate + this.step())] },
        ]);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        await pause(Math.random() * Math.min(this.maxBackoffMs, 2 ** Math.min(attempt, 6)));
        continue; // lost the race: re-read
      }
      if (await this.inUse(kind, candidate)) continue; // imported entry owns it: claim the next one
      return candidate;
    }
  }

  /** True when any entry under the base (people, groups, campaigns, tombstones) carries the number. */
  async inUse(kind: NumberKind, n: number): Promise<boolean> {
    const attr = kind === 'uid' ? 'uidNumber' : 'gidNumber';
    const hits = await this.ldap.search(this.layout.baseDn, {
      scope: 'sub',
      filter: `(${attr}=${Math.trunc(n)})`, // constant attribute, integer value: nothing to escape
      attributes: ['1.1'],
      sizeLimit: 1,
    }).catch((err: unknown) => {
      // sizeLimitExceeded still means "at least one"
      if (ldapResultCode(err) === LdapResult.sizeLimitExceeded) return [1];
      throw err;
    });
    return hits.length > 0;
  }

  private async readCounter(kind: NumberKind): Promise<number | undefined> {
    const entry = await this.ldap.read(this.counterDn(kind), ['cgNextValue']);
    return entry?.getInt('cgNextValue');
  }

  private async createCounter(kind: NumberKind, start: number): Promise<void> {
    try {
      await this.ldap.add(this.counterDn(kind), {
        objectClass: ['top', 'cgCounter'],
        cn: this.partition ? `${kind}Number-${this.partition.index}-of-${this.partition.count}` : kind === 'uid' ? 'uidNumber' : 'gidNumber',
        cgNextValue: String(start),
      });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err; // someone else created it
    }
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
