import { parseArgs } from 'node:util';
import { defaultLogLevel, LOG_LEVELS, type LogLevel } from './logger';

/** Everything a service takes from its command line and environment. */
export interface ServiceConfig {
  /** Interface to bind, 127.0.0.1 unless told otherwise. */
  readonly host: string;
  /** gRPC port; 0 picks an ephemeral port. */
  readonly port: number;
  /** `/metrics` HTTP port; 0 picks an ephemeral port, null serves no metrics. */
  readonly metricsPort: number | null;
  readonly logLevel: LogLevel;
  /** How long a graceful shutdown may take before in-flight calls are cancelled. */
  readonly shutdownTimeoutMs: number;
  /** Largest message sent or received, in bytes. */
  readonly maxMessageBytes: number;
  /** Values of the service's own extra flags (see {@link ParseServiceConfigOptions.extraFlags}). */
  readonly extra: Readonly<Record<string, string>>;
}

export const DEFAULT_HOST = '127.0.0.1';
/** Long enough for a streamed workload batch to finish, short enough for a container stop (10 s grace). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;
/** grpc-js receives 4 MiB by default; page-table and free-list dumps can be larger. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** setTimeout's limit (2^31 - 1 ms, Node timers documentation). */
const MAX_TIMEOUT_MS = 2_147_483_647;
/** grpc-js message lengths are int32. */
const MAX_MESSAGE_BYTES_LIMIT = 2_147_483_647;
const MAX_PORT = 65_535;

/**
 * Thrown when a flag or environment variable has a value the service cannot use.
 * `source` is the flag (`--port`) or variable (`PAGEMESH_MMU_PORT`) the value came from.
 */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly value: string,
    readonly reason: string,
    message = `invalid ${source} ${JSON.stringify(value)}: ${reason}`,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ParseServiceConfigOptions {
  /** Arguments after the script name; `process.argv.slice(2)` by default. */
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Defaults for settings neither a flag nor the environment gives. */
  defaults?: Partial<Omit<ServiceConfig, 'extra'>>;
  /** Extra string flags the service takes (e.g. `mmu-address`), also read from `PAGEMESH_<SERVICE>_<FLAG>`. */
  extraFlags?: readonly string[];
}

const FLAGS = [
  'host',
  'port',
  'metrics-port',
  'log-level',
  'shutdown-timeout-ms',
  'max-message-bytes',
] as const;
type Flag = (typeof FLAGS)[number];

/** `page-allocator` + `metrics-port` → `PAGEMESH_PAGE_ALLOCATOR_METRICS_PORT`. */
export function envVarName(service: string, flag: string): string {
  const upper = (s: string) => s.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();
  return `PAGEMESH_${upper(service)}_${upper(flag)}`;
}

/**
 * Reads a service's settings: a flag wins over its environment variable, which wins over the
 * default. Throws {@link ConfigError} naming the flag or variable and its value.
 */
export function parseServiceConfig(service: string, options: ParseServiceConfigOptions = {}): ServiceConfig {
  const env = options.env ?? process.env;
  const extraFlags = options.extraFlags ?? [];
  const flags = parseFlags(options.argv ?? process.argv.slice(2), extraFlags);
  const raw = (flag: string): { source: string; value: string } | undefined => {
    const fromFlag = flags[flag];
    if (fromFlag !== undefined) return { source: `--${flag}`, value: fromFlag };
    const name = envVarName(service, flag);
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== '') return { source: name, value: fromEnv };
    return undefined;
  };
  const d = options.defaults ?? {};
  const setting = <T>(flag: Flag, parse: (source: string, value: string) => T, fallback: T): T => {
    const given = raw(flag);
    return given ? parse(given.source, given.value) : fallback;
  };

  const extra: Record<string, string> = {};
  for (const flag of extraFlags) {
    const given = raw(flag);
    if (given) extra[flag] = given.value;
  }

  return {
    host: setting('host', parseHost, d.host ?? DEFAULT_HOST),
    port: setting('port', (s, v) => parseInteger(s, v, 0, MAX_PORT), d.port ?? 0),
    metricsPort: setting('metrics-port', parseMetricsPort, d.metricsPort === undefined ? 0 : d.metricsPort),
    logLevel: setting('log-level', parseLogLevel, d.logLevel ?? defaultLogLevel()),
    shutdownTimeoutMs: setting(
      'shutdown-timeout-ms',
      (s, v) => parseInteger(s, v, 0, MAX_TIMEOUT_MS),
      d.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
    ),
    maxMessageBytes: setting(
      'max-message-bytes',
      (s, v) => parseInteger(s, v, 1, MAX_MESSAGE_BYTES_LIMIT),
      d.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    ),
    extra,
  };
}

function parseFlags(
  argv: readonly string[],
  extraFlags: readonly string[],
): Record<string, string | undefined> {
  const names = [...FLAGS, ...extraFlags];
  try {
    const { values } = parseArgs({
      args: joinNegativeValues(argv),
      options: Object.fromEntries(names.map((name) => [name, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    });
    return values as Record<string, string | undefined>;
  } catch (err) {
    throw flagParseError(err);
  }
}

/**
 * parseArgs reads `--metrics-port -1` as a flag without a value followed by a flag `-1`;
 * rewrite a negative number after a flag as `--metrics-port=-1`.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    if (arg.startsWith('--') && !arg.includes('=') && next !== undefined && /^-\d+$/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function flagParseError(err: unknown): ConfigError {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown }).code;
  const option = /'([^']*)'/.exec(message)?.[1] ?? '';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new ConfigError(option, '', 'unknown flag', `unknown flag ${option}`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new ConfigError(
        'argument',
        option,
        'unexpected argument',
        `unexpected argument ${JSON.stringify(option)}`,
      );
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = option.split(/[ =]/)[0] ?? option;
      return new ConfigError(flag, '', 'missing value', `missing value for ${flag}`);
    }
    default: {
      const firstLine = message.split('\n', 1)[0] ?? message;
      return new ConfigError('arguments', option, firstLine, `bad arguments: ${firstLine}`);
    }
  }
}

function parseHost(source: string, value: string): string {
  if (value.trim() === '' || /\s/.test(value))
    throw new ConfigError(source, value, 'expected a host name or IP address');
  return value;
}

function parseInteger(source: string, value: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value.trim()))
    throw new ConfigError(source, value, `expected an integer ${min}..${max}`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(source, value, `expected an integer ${min}..${max}`);
  return n;
}

function parseMetricsPort(source: string, value: string): number | null {
  if (value === 'off' || value.trim() === '-1') return null;
  if (!/^\d+$/.test(value.trim()) || Number(value) > MAX_PORT) {
    throw new ConfigError(source, value, `expected a port 0..${MAX_PORT}, or -1 / off for no metrics`);
  }
  return Number(value);
}

function parseLogLevel(source: string, value: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === value);
  if (level === undefined) throw new ConfigError(source, value, `expected one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/**
 * A service's settings for a test or an embedded stack: ephemeral port, no /metrics, nothing read
 * from the environment.
 */
export function ephemeralServiceConfig(service: string, argv: readonly string[] = []): ServiceConfig {
  return parseServiceConfig(service, { argv: ['--port=0', '--metrics-port=off', ...argv], env: {} });
}
