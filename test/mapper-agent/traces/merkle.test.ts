/**
 * The Merkle tree of trace batches against RFC 6962's own test vectors, and the inclusion proof
 * verifier (RFC 9162 2.1.3.2) on random trees: every true proof verifies, every altered one fails,
 * and malformed input is simply false (never an exception).
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { inclusionProof, leafHash, nodeHash, rootOf, treeWithProofs, verifyInclusion } from '../../../mapper-agent/traces/merkle.js';

// certificate-transparency's merkle_tree_test inputs and roots (RFC 6962 hashing)
const INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** The tree as RFC 6962 2.1 defines it, written the simplest way (the reference for the random tests). */
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return createHash('sha256').digest();
  if (d.length === 1) return leafHash(d[0]!);
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return nodeHash(mth(d.slice(0, k)), mth(d.slice(k)));
}

describe('mapper-agent/traces: Merkle tree (RFC 6962)', () => {
  it('gives the roots of the certificate-transparency test vectors for 1 to 8 leaves', () => {
    for (let n = 1; n <= 8; n++) {
      const leaves = INPUTS.slice(0, n).map(leafHash);
      expect(rootOf(leaves).toString('hex'), `${n} leaves`).to.equal(ROOTS[n - 1]);
      expect(treeWithProofs(leaves).root.toString('hex')).to.equal(ROOTS[n - 1]);
    }
    expect(rootOf([]).toString('hex')).to.equal(createHash('sha256').digest('hex'));
  });

  it('proves every leaf of random trees; the one-pass proofs equal the per-leaf ones (property, fixed seed)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 300 }), fc.nat(), (data, pick) => {
        const buffers = data.map((d) => Buffer.from(d));
        const leaves = buffers.map(leafHash);
        const { root, proofs } = treeWithProofs(leaves);
        expect(root.equals(mth(buffers))).to.equal(true);
        const i = pick % leaves.length;
        expect(proofs[i]!.map((p) => p.toString('hex'))).to.deep.equal(inclusionProof(leaves, i).map((p) => p.toString('hex')));
        for (let j = 0; j < leaves.length; j += Math.max(1, Math.floor(leaves.length / 17))) expect(verifyInclusion(leaves[j]!, j, leaves.length, proofs[j]!, root), `leaf ${j}`).to.equal(true);
      }),
      { seed: 20261201, numRuns: 200 },
    );
  });

  it('refuses every altered proof: another leaf or index, an index beyond the size, another root, a flipped bit, a missing or extra hash (property, fixed seed)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (n, a, b, bit) => {
        const leaves = Array.from({ length: n }, (_, k) => leafHash(Buffer.from(`leaf ${k} of ${n}`)));
        const { root, proofs } = treeWithProofs(leaves);
        const i = a % n;
        const proof = proofs[i]!;
        const other = leafHash(Buffer.from('not in the tree'));
        expect(verifyInclusion(leaves[i]!, i, n, proof, root)).to.equal(true);
        expect(verifyInclusion(other, i, n, proof, root)).to.equal(false);
        if (n > 1) {
          const j = (i + 1 + (b % (n - 1))) % n;
          // another index with the same proof fails unless that leaf is the same hash (never here)
          expect(verifyInclusion(leaves[i]!, j, n, proof, root)).to.equal(false);
        }
        expect(verifyInclusion(leaves[i]!, i, i, proof, root)).to.equal(false); // an index outside the tree
        const badRoot = Buffer.from(root);
        badRoot[bit % 32]! ^= 1 << (bit % 8);
        expect(verifyInclusion(leaves[i]!, i, n, proof, badRoot)).to.equal(false);
        if (proof.length) {
          const flipped = proof.map((p) => Buffer.from(p));
          flipped[b % proof.length]![bit % 32]! ^= 1 << (bit % 8);
          expect(verifyInclusion(leaves[i]!, i, n, flipped, root)).to.equal(false);
          expect(verifyInclusion(leaves[i]!, i, n, proof.slice(0, -1), root)).to.equal(false);
        }
        expect(verifyInclusion(leaves[i]!, i, n, [...proof, other], root)).to.equal(false);
      }),
      { seed: 20261201, numRuns: 300 },
    );
  });

  it('answers false, never throws, on malformed input (property, fixed seed)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer(), fc.integer(), fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 20 }), fc.uint8Array({ maxLength: 40 }), (leaf, index, size, proof, root) => {
        expect(() => verifyInclusion(leaf, index, size, proof, root)).not.to.throw();
        if (leaf.length !== 32 || root.length !== 32) expect(verifyInclusion(leaf, index, size, proof, root)).to.equal(false);
      }),
      { seed: 20261201, numRuns: 500 },
    );
    expect(verifyInclusion(Buffer.alloc(32), Number.NaN, 1, [], Buffer.alloc(32))).to.equal(false);
    expect(verifyInclusion(Buffer.alloc(32), 0, 0, [], Buffer.alloc(32))).to.equal(false);
  });
});
