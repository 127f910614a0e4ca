import pino, { type DestinationStream, type Level, type Logger } from 'pino';

/** pino's levels plus `silent`, which the tests use. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = Level | 'silent';

export interface ServiceLoggerOptions {
  level?: LogLevel;
  /** Where JSON lines go; stdout by default. Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
}

/**
 * One pino logger per service: JSON lines to stdout, every line bound to `{ service }`.
 * Without an explicit level it logs at `info`, or not at all under Jest (NODE_ENV=test).
 */
export function createServiceLogger(service: string, options: ServiceLoggerOptions = {}): Logger {
  const level = options.level ?? defaultLogLevel();
  const pinoOptions: pino.LoggerOptions = {
    level,
    base: { service },
    formatters: { log: (fields) => hexBigints(fields) as Record<string, unknown> },
  };
  // Synchronous stdout: with pino's asynchronous default, process.exit after a signal or a
  // startup failure dropped or reordered the last lines (seen here). A service logs a few
  // lines per call, far below what a blocking write costs.
  return pino(pinoOptions, options.destination ?? pino.destination({ dest: STDOUT_FD, sync: true }));
}

/** `info`, or `silent` under Jest (which sets NODE_ENV=test) so test output stays readable. */
export function defaultLogLevel(): LogLevel {
  return process.env['NODE_ENV'] === 'test' ? 'silent' : 'info';
}

const STDOUT_FD = 1;

/** Nesting depth to which bigint fields are rewritten; log objects here are shallow. */
const MAX_BIGINT_DEPTH = 4;

/**
 * bigint appears only at the proto edge (64-bit addresses), and JSON has no bigint: write it as
 * a hex string, the way addresses are read.
 */
function hexBigints(value: unknown, depth = 0): unknown {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (depth >= MAX_BIGINT_DEPTH || typeof value !== 'object' || value === null || value instanceof Error) {
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => hexBigints(item, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = hexBigints(item, depth + 1);
  return out;
}
