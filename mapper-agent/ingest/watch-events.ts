/**
 * What `watch` makes of the kernel's events before it ingests: each file once.
 * (A new directory and the files in it are all announced; the engine walks only the outermost
 * paths of a call, ./outermost.ts.) The agent's own chown/chmod raise events too. A file whose change time is still the one the
 * agent's change left has not been touched since, so it is not ingested again. Any later write
 * or mode change moves the change time, and the file is ingested as usual.
 */
import { lstatSync } from 'node:fs';

const LIMIT = 100_000; // changes whose events never come (scanning mode) are forgotten oldest first

export class OwnChanges {
  private readonly ctimes = new Map<string, bigint>();

  /** After the agent changed `path`: remember the change time its change left. */
  record(path: string): void {
    const ctime = changeTime(path);
    if (ctime === undefined) return;
    this.ctimes.delete(path);
    this.ctimes.set(path, ctime);
    if (this.ctimes.size > LIMIT) this.ctimes.delete(this.ctimes.keys().next().value as string);
  }

  /** True once for an event the agent's own change raised: the file is as the agent left it. */
  isOwn(path: string): boolean {
    const recorded = this.ctimes.get(path);
    if (recorded === undefined) return false;
    this.ctimes.delete(path);
    return changeTime(path) === recorded;
  }
}

function changeTime(path: string): bigint | undefined {
  try {
    return lstatSync(path, { bigint: true }).ctimeNs;
  } catch {
    return undefined;
  }
}
