/** Code blocks of the docs that tests run: the block that follows `<!-- <marker>: <name> -->` in a Markdown file. */
import { readFileSync } from 'node:fs';

export function markedBlock(doc: URL, marker: string, name: string): string {
  const md = readFileSync(doc, 'utf8');
  const m = new RegExp(`<!-- ${marker}: ${name} -->\\s*\`\`\`[^\\n]*\\n([\\s\\S]*?)\`\`\``).exec(md);
  if (!m) throw new Error(`${doc.pathname} has no block marked ${marker}: ${name}`);
  return m[1]!;
}
