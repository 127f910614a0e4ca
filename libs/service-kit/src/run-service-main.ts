import { format } from 'node:util';
import { setLogger } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { setProcessCaller } from './boundary/outgoing-calls';
import { createServiceLogger } from './logger';
import { parseServiceConfig, type ParseServiceConfigOptions, type ServiceConfig } from './service-config';
import { startService, type RunningService, type StartServiceOptions } from './start-service';
import { formatStartupFailure } from './startup-error';

/** The signals that stop a service: `docker stop` sends SIGTERM, Ctrl-C sends SIGINT. */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export interface RunServiceMainOptions extends ParseServiceConfigOptions {
  /** Replaces `process.exit` (tests). */
  exit?: (code: number) => void;
  /** Replaces writing a line to stderr (tests). */
  writeError?: (line: string) => void;
  /** Where SIGTERM/SIGINT come from; `process` by default (tests pass an EventEmitter). */
  signals?: Pick<NodeJS.EventEmitter, 'on'>;
}

/**
 * The body of every app's `main.ts`: reads flags and environment, builds the service, starts it,
 * and stops it gracefully on SIGTERM/SIGINT (exit 0; a second signal exits at once with 1).
 * If it cannot start (a bad flag, the port taken) it prints one line to stderr, such as
 * `page-allocator: cannot listen on 127.0.0.1:50051: address already in use`, and exits 1.
 * Resolves to the running service, or undefined when it could not start.
 */
export async function runServiceMain(
  name: string,
  build: (config: ServiceConfig, logger: Logger) => StartServiceOptions | Promise<StartServiceOptions>,
  options: RunServiceMainOptions = {},
): Promise<RunningService | undefined> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let logger: Logger | undefined;
  const writeError = options.writeError ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const signals = options.signals ?? process;

  let service: RunningService;
  try {
    // the clients the service builds record their calls as this service's (one per process)
    setProcessCaller(name);
    const config = parseServiceConfig(name, options);
    const serviceLogger = createServiceLogger(name, { level: config.logLevel });
    logger = serviceLogger;
    routeGrpcLogs(serviceLogger);
    const startOptions = await build(config, serviceLogger);
    logger = startOptions.logger ?? serviceLogger;
    service = await startService({ ...startOptions, logger });
  } catch (err) {
    // The stack, if anyone wants it, goes to the debug log; stderr gets one line.
    logger?.debug({ err }, 'startup failed');
    writeError(formatStartupFailure(name, err));
    exit(1);
    return undefined;
  }

  let stopping = false;
  for (const signal of STOP_SIGNALS) {
    signals.on(signal, () => {
      if (stopping) {
        service.logger.warn({ signal }, `${name} got ${signal} again: exiting without waiting`);
        exit(1);
        return;
      }
      stopping = true;
      service.logger.info({ signal }, `${name} got ${signal}: shutting down`);
      service.shutdown().then(
        () => exit(0),
        (err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          writeError(`${name}: shutdown failed: ${message.split('\n', 1)[0] ?? message}`);
          exit(1);
        },
      );
    });
  }
  return service;
}

/** grpc-js writes its own diagnostics to console.error; send them to the service's log instead. */
function routeGrpcLogs(logger: Logger): void {
  setLogger({
    error: (...args: unknown[]) => logger.warn({ source: 'grpc-js' }, format(...args)),
    info: (...args: unknown[]) => logger.info({ source: 'grpc-js' }, format(...args)),
    debug: (...args: unknown[]) => logger.debug({ source: 'grpc-js' }, format(...args)),
  });
}
