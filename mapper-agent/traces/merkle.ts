/**
 * Merkle trees as RFC 6962 (Certificate Transparency) and RFC 9162 define them:
 *   leaf hash  = SHA-256(0x00 || data)
 *   node hash  = SHA-256(0x01 || left || right)
 * A tree of n > 1 leaves splits at k, the largest power of two smaller than n; the root of the
 * empty tree is SHA-256(""). An inclusion proof (audit path) lists the sibling hashes from the leaf
 * up to the root; `verifyInclusion` is RFC 9162 section 2.1.3.2, step by step.
 */
import { createHash } from 'node:crypto';

export const HASH_BYTES = 32;

export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

const LEAF_PREFIX = Buffer.from([0]);
const NODE_PREFIX = Buffer.from([1]);

/** Largest power of two strictly smaller than n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The root over leaf hashes (already hashed with leafHash). */
export function rootOf(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  return subtree(leaves, 0, leaves.length);
}

function subtree(leaves: readonly Uint8Array[], lo: number, hi: number): Buffer {
  if (hi - lo === 1) return Buffer.from(leaves[lo]!);
  const k = split(hi - lo);
  return nodeHash(subtree(leaves, lo, lo + k), subtree(leaves, lo + k, hi));
}

/**
 * The root and every leaf's audit path in one pass (O(n log n) hashes in total, each node hashed
 * once): proofs[i] lists the siblings of leaf i from the bottom up, as RFC 6962 section 2.1.1.
 */
export function treeWithProofs(leaves: readonly Uint8Array[]): { root: Buffer; proofs: Buffer[][] } {
  const proofs: Buffer[][] = leaves.map(() => []);
  if (leaves.length === 0) return { root: rootOf(leaves), proofs };
  const build = (lo: number, hi: number): Buffer => {
    if (hi - lo === 1) return Buffer.from(leaves[lo]!);
    const k = split(hi - lo);
    const left = build(lo, lo + k);
    const right = build(lo + k, hi);
    for (let i = lo; i < lo + k; i++) proofs[i]!.push(right);
    for (let i = lo + k; i < hi; i++) proofs[i]!.push(left);
    return nodeHash(left, right);
  };
  return { root: build(0, leaves.length), proofs };
}

/** The audit path of one leaf (RFC 6962 PATH(m, D[n])). */
export function inclusionProof(leaves: readonly Uint8Array[], index: number): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new RangeError(`leaf ${index} is not in a tree of ${leaves.length}`);
  const path: Buffer[] = [];
  const walk = (lo: number, hi: number): void => {
    if (hi - lo === 1) return;
    const k = split(hi - lo);
    if (index < lo + k) {
      walk(lo, lo + k);
      path.push(subtree(leaves, lo + k, hi));
    } else {
      walk(lo + k, hi);
      path.push(subtree(leaves, lo, lo + k));
    }
  };
  walk(0, leaves.length);
  return path;
}

/**
 * Does `proof` show that `leaf` (a leaf hash) is leaf number `index` of a tree of `size` leaves
 * with root `root`? RFC 9162 section 2.1.3.2. Never throws: malformed input is simply false.
 */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (leaf.length !== HASH_BYTES || root.length !== HASH_BYTES || proof.some((p) => p.length !== HASH_BYTES)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        // right-shift fn and sn until fn is odd or zero
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(Buffer.from(root));
}
