/** The journal's JSON documents (batch-format.ts, seal.ts) write each shared string once, in `s`, and refer to it by index. */

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
