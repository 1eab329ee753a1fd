import { setTimeout as sleep } from 'node:timers/promises';

/** Poll `probe` every 50 ms until it gives a truthy value (a throw counts as not yet); fails after `timeoutMs`, naming `what`. */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
