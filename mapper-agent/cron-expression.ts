/**
 * Whether a string is a node-cron expression. node-cron is loaded on the first expression checked:
 * the configuration checks only the schedules it sets (defaults are not re-checked), so commands
 * other than the daemon usually never load it.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function validCron(expression: string): boolean {
  return (require('node-cron') as typeof import('node-cron')).validate(expression);
}
