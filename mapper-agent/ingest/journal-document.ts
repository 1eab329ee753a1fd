/**
 * What the journal's JSON documents (batch-format.ts, seal.ts) share: `{"v":1,"s":[strings],"f":[entries]}`,
 * each shared string written once in `s` and referred to by its index.
 */

/** A document's shared strings (`s`): ref() gives a string's index, adding it the first time. */
export function sharedStrings(): { strings: string[]; ref: (s: string) => number } {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const ref = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = strings.push(s) - 1;
      index.set(s, i);
    }
    return i;
  };
  return { strings, ref };
}

export interface JournalDocument {
  s: unknown[];
  f: unknown[];
}

/** A version 1 document as parsed; an Error (`${prefix}: not a version 1 ${name} document`) for anything else, never a guess. */
export function parseDocument(json: string, prefix: string, name: string): JournalDocument {
  const doc = JSON.parse(json) as { v?: unknown; s?: unknown; f?: unknown };
  if (doc.v !== 1 || !Array.isArray(doc.s) || !Array.isArray(doc.f)) throw new Error(`${prefix}: not a version 1 ${name} document`);
  return doc as JournalDocument;
}

/** The reader of a document's shared strings: the string at an index, or an Error when there is none. */
export function stringAt(strings: unknown[], prefix: string): (i: unknown) => string {
  return (i) => {
    const v = typeof i === 'number' ? strings[i] : undefined;
    if (typeof v !== 'string') throw new Error(`${prefix}: string ${String(i)} is missing`);
    return v;
  };
}
