import { readFileSync, readdirSync } from 'node:fs';

/**
 * SIGSTOP a process (a slapd) and wait until every one of its threads is stopped: the signal takes
 * effect asynchronously, and on a loaded machine slapd can still answer a request sent right after
 * kill() returns (one already open connection needs a single exchange).
 */
export async function stopProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  const state = (task: string) => readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
  for (let i = 0; i < 5000; i++) {
    if (readdirSync(`/proc/${pid}/task`).every((t) => ['T', 't'].includes(state(t) ?? ''))) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`process ${pid} did not stop`);
}
