import { pino, type Logger } from 'pino';

/**
 * Structured JSON logs on stderr (stdout stays free for command output).
 * Level from CG_LOG_LEVEL; tests default to 'silent' unless asked.
 */
export function createLogger(name: string, level = process.env.CG_LOG_LEVEL ?? defaultLevel()): Logger {
  return pino({ name, level, base: { component: name } }, pino.destination(2));
}

function defaultLevel(): string {
  return process.env.NODE_ENV === 'test' ? 'silent' : 'info';
}

export type { Logger };
