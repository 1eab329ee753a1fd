/**
 * Permission modes in configuration, written as octal strings ('0640', '640' or '0o640'). A bare
 * number is refused: YAML 1.2 reads 0640 as the decimal 640 and JSON has no octal, so 640 would
 * silently become 0o1200 and 444 would become 0o674 (group write). Environment values are strings.
 */
import { z } from 'zod';

export const fileModeSchema = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const m = typeof v === 'string' ? /^(?:0o?)?([0-7]{3,4})$/.exec(v.trim()) : null;
    if (!m) {
      ctx.addIssue({ code: 'custom', message: `a permission mode is an octal string such as '0640' (quoted), got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return Number.parseInt(m[1]!, 8);
  });

export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}
