import { dirname, resolve } from 'node:path';

/**
 * The paths of a set that no other path of it contains: walking a directory covers what is under
 * it, so a file named beside its directory (by two events, or twice on a command line) is
 * ingested, counted and traced once. Order of first appearance is kept.
 */
export function outermost(paths: Iterable<string>): string[] {
  const all = new Set([...paths].map((p) => resolve(p)));
  const covered = (path: string): boolean => {
    for (let p = path, up = dirname(p); up !== p; p = up, up = dirname(up)) if (all.has(up)) return true;
    return false;
  };
  return [...all].filter((p) => !covered(p));
}
