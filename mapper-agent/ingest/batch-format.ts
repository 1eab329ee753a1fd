/**
 * A journal batch's changes as one JSON document (journal.ts stores it in `batches.changes`):
 *   {"v":1,"s":[strings...],"f":[[dir,name,dev,ino,campaign,kind,reason,uid0,gid0,mode0,uid,gid,mode],...]}
 * `dir`, `campaign` (-1: none), `kind` and `reason` index `s`, so a directory, a campaign or a
 * reason shared by the batch's files is written once. Readable with sqlite3's json functions
 * (`json_each(changes, '$.f')`) by an operator with nothing else at hand.
 */
import type { ChangeKind, PlannedChange } from './journal.js';
import { parseDocument, sharedStrings, stringAt } from './journal-document.js';
import { memoLast } from '../../core/memo-last.js';

/** A decoded entry: the change, its directory and name kept apart (readers look files up by directory). */
export interface BatchEntry {
  dir: string;
  name: string;
  change: PlannedChange;
}

const KINDS: ReadonlySet<string> = new Set<ChangeKind>(['ingest', 'quarantine', 'embargo-lift', 're-embargo', 'directory']);

/** A path's directory and name as the journal keeps them apart (readers look files up by directory). */
export function placeOf(path: string): { dir: string; name: string } {
  const cut = path.lastIndexOf('/');
  return { dir: sameDir(path.slice(0, cut) || '/'), name: path.slice(cut + 1) };
}

/** The directory of the file before, when it is the same: one string object for a directory's files (shared strings hash it once). */
const sameDir = memoLast((dir: string) => dir);

export function encodeBatch(changes: PlannedChange[]): { json: string; dirs: string[] } {
  const { strings, ref } = sharedStrings();
  const dirs = new Set<string>();
  const files = new Array<unknown[]>(changes.length);
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!;
    const { dir, name } = placeOf(c.path);
    dirs.add(dir);
    files[i] = [ref(dir), name, c.dev, c.ino, c.campaign === undefined ? -1 : ref(c.campaign), ref(c.kind), ref(c.reason),
      c.before.uid, c.before.gid, c.before.mode, c.target.uid, c.target.gid, c.target.mode];
  }
  return { json: JSON.stringify({ v: 1, s: strings, f: files }), dirs: [...dirs] };
}

/** The entries of a batch document; an Error for a document this version cannot read (never a guess). */
export function decodeBatch(json: string): BatchEntry[] {
  const doc = parseDocument(json, 'journal batch', 'batch');
  const str = stringAt(doc.s, 'journal batch');
  return doc.f.map((f) => {
    if (!Array.isArray(f) || f.length !== 13) throw new Error('journal batch: an entry is not 13 fields');
    const [dir, name, dev, ino, campaign, kind, reason, bu, bg, bm, u, g, m] = f as [number, string, number, number, number, number, number, number, number, number, number, number, number];
    const k = str(kind);
    if (!KINDS.has(k)) throw new Error(`journal batch: unknown kind ${k}`);
    const d = str(dir);
    const change: PlannedChange = {
      path: d === '/' ? `/${name}` : `${d}/${name}`, dev, ino, kind: k as ChangeKind, reason: str(reason),
      before: { uid: bu, gid: bg, mode: bm }, target: { uid: u, gid: g, mode: m },
      ...(campaign === -1 ? {} : { campaign: str(campaign) }),
    };
    return { dir: d, name, change };
  });
}
