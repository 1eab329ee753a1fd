/**
 * Multi-provider: which writer may claim names (usernames, identities, campaign names) and take
 * compare-and-swap decisions (membership requests decided or withdrawn, half-made accounts undone), an
 * administrator's decision (docs/replication.md, "What needs a single writer"). Designating is
 * audited; it is refused where no partition is configured (one writer needs no designation) and
 * for an index outside the configured count.
 */
import { ConfigError, ValidationError } from '../../core/errors.js';
import { requireAdmin } from './administration.js';
import { audit, type Actor, type ServiceContext } from './context.js';

export interface NameWriterState {
  /** this portal's share: index of count, or undefined for a single writer */
  partition: { index: number; count: number } | undefined;
  designated: number | undefined;
}

export async function nameWriterState(ctx: ServiceContext): Promise<NameWriterState> {
  const allocator = ctx.directory.allocator;
  return { partition: allocator.writerPartition, designated: await allocator.designatedNameWriter() };
}

export async function designateNameWriter(ctx: ServiceContext, actor: Actor, index: number, reason: string): Promise<void> {
  requireAdmin(actor);
  const partition = ctx.directory.allocator.writerPartition;
  if (!partition) throw new ConfigError('no allocation.partition is configured: with one writer there is nothing to designate');
  if (!Number.isInteger(index) || index < 0 || index >= partition.count) throw new ValidationError(`writer: an index 0..${partition.count - 1}`);
  if (reason.trim().length < 3) throw new ValidationError('give a reason (kept in the audit trail)');
  const before = await ctx.directory.allocator.designatedNameWriter();
  await ctx.directory.allocator.designateNameWriter(index);
  audit(ctx, actor, 'allocation.designate-writer', `writer ${index}`, { before: before ?? null, after: index, count: partition.count, reason: reason.trim() });
}
