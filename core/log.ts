import { createRequire } from 'node:module';
import type { Logger } from 'pino';

// pino (with sonic-boom and thread-stream) is loaded on the first logger built, not at import:
// commands that log nothing (the agent's --help, status, an ingest that goes well) start faster.
const require = createRequire(import.meta.url);

/**
 * Structured JSON logs on stderr (stdout stays free for command output).
 * Level from CG_LOG_LEVEL; tests default to 'silent' unless asked.
 */
export function createLogger(name: string, level = process.env.CG_LOG_LEVEL ?? defaultLevel()): Logger {
  const { pino } = require('pino') as typeof import('pino');
  return pino({ name, level, base: { component: name } }, pino.destination(2));
}

/**
 * The logger createLogger would give, built on its first use (the level is read now). For loggers
 * made at import time or at start-up that most runs never write to.
 */
export function lazyLogger(name: string, level = process.env.CG_LOG_LEVEL ?? defaultLevel()): Logger {
  let real: Logger | undefined;
  const logger = () => (real ??= createLogger(name, level));
  return new Proxy({} as Logger, {
    get(_target, key) {
      const r = logger();
      const value: unknown = Reflect.get(r, key, r);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(r) : value;
    },
    set: (_target, key, value) => Reflect.set(logger(), key, value),
    has: (_target, key) => Reflect.has(logger(), key),
  });
}

function defaultLevel(): string {
  return process.env.NODE_ENV === 'test' ? 'silent' : 'info';
}

export type { Logger };
