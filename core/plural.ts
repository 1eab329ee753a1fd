/** "1 file", "2 files", "0 files": counts in human output agree with their nouns. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
