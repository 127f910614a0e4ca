import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath, type ServingStatus } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { protoFile, protoIncludeDir } from '@pagemesh/proto';
import { boundaryServiceRegistration } from './boundary/boundary-service';
import { outgoingCallsOf, type CallerFigures } from './boundary/outgoing-calls';
import { guardImplementation } from './handler-guards';
import { createGrpcServerMetrics, initializeMethodMetrics, splitMethodPath } from './grpc-metrics';
import { joinHostPort } from './host-port';
import { createServiceLogger } from './logger';
import { startMetricsServer, type MetricsServer } from './metrics-server';
import { createObservabilityInterceptor } from './observability-interceptor';
import type { ServiceConfig } from './service-config';
import { bindFailure, StartupError } from './startup-error';

export type { ServingStatus } from 'grpc-health-check';

/** One gRPC service to serve: its definition (ts-proto or proto-loader) and its handlers. */
export interface ServiceRegistration {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- generated definitions are typed per service
  readonly definition: ServiceDefinition<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- generated server interfaces are typed per service
  readonly implementation: UntypedServiceImplementation | Record<string, any>;
}

export interface StartServiceOptions {
  /** The pagemesh service name (`page-allocator`): log binding, log prefix. */
  readonly name: string;
  /** Absolute paths of the `.proto` files the services come from, loaded for server reflection. */
  readonly protoFiles: readonly string[];
  /** Import roots for those files. */
  readonly includeDirs?: readonly string[];
  readonly services: readonly ServiceRegistration[];
  /** Fully-qualified names reported by grpc.health.v1; by default, those of `services`. */
  readonly healthServiceNames?: readonly string[];
  readonly config: ServiceConfig;
  /** A logger to use instead of one made from `config.logLevel`. */
  readonly logger?: Logger;
  /**
   * The outgoing calls BoundaryService answers: by default the process-wide table of `name`
   * (what the service's pools record into); a test running several instances of one service in
   * a process gives each instance its own table, shared with its pool.
   */
  readonly outgoingCalls?: CallerFigures;
}

export interface RunningService extends AsyncDisposable {
  readonly name: string;
  /** `host:port` as bound, e.g. `127.0.0.1:39017`. */
  readonly address: string;
  readonly port: number;
  /** Port of the `/metrics` HTTP endpoint, or null when metrics are off. */
  readonly metricsPort: number | null;
  readonly logger: Logger;
  /**
   * The registry `/metrics` serves: the gRPC metrics, process metrics, and whatever the service
   * adds (domain gauges such as `mm_free_pages{order,zone}`).
   */
  readonly metricsRegistry: Registry;
  /** Sets the health of every reported service and the overall `''` entry. */
  setServing(status: ServingStatus): void;
  /** Sets the health of one service (`''` is the server as a whole). */
  setServing(service: string, status: ServingStatus): void;
  /**
   * Health goes NOT_SERVING, in-flight calls get `config.shutdownTimeoutMs` to finish, then the rest
   * are cancelled. Safe to call more than once; every call resolves when the server is down.
   */
  shutdown(): Promise<void>;
}

/** Server keepalive: ping an idle connection every minute, drop it if the ping goes unanswered for 20 s. */
const SERVER_KEEPALIVE_TIME_MS = 60_000;
const SERVER_KEEPALIVE_TIMEOUT_MS = 20_000;
/**
 * Node's http2 `maxSessionMemory` (MB). grpc-js 1.14 already defaults it to unlimited, because Node
 * degrades badly at the limit ("Bandwidth exhausted", grpc/grpc-node#1158, #2948); pinned here so
 * a dependency upgrade cannot bring the limit back.
 */
const MAX_SESSION_MEMORY_MB = Number.MAX_SAFE_INTEGER;

/**
 * Starts a pagemesh gRPC service: the given services behind error guards and the logging/metrics
 * interceptor, grpc.health.v1, server reflection, BoundaryService (the figures of the calls this
 * service made to others through the kit's clients, recorded under `name`), and `/metrics`. Resolves once the port is
 * bound and health is SERVING; rejects with {@link StartupError} when it cannot listen.
 */
export async function startService(options: StartServiceOptions): Promise<RunningService> {
  const { name, config } = options;
  const logger = options.logger ?? createServiceLogger(name, { level: config.logLevel });
  const metrics = createGrpcServerMetrics();
  const server = new Server({
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.max_send_message_length': config.maxMessageBytes,
    'grpc-node.max_session_memory': MAX_SESSION_MEMORY_MB,
    'grpc.keepalive_time_ms': SERVER_KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': SERVER_KEEPALIVE_TIMEOUT_MS,
    interceptors: [createObservabilityInterceptor(logger, metrics)],
  });

  const onInternalError = (err: unknown, path: string) =>
    logger.error({ err, rpc: path }, `${path} failed with an unexpected error`);
  // BoundaryService is the kit's, not the service's: it is not among the names health reports
  const served = [
    ...options.services,
    boundaryServiceRegistration(options.outgoingCalls ?? outgoingCallsOf(name)),
  ];
  for (const { definition, implementation } of served) {
    initializeMethodMetrics(metrics, Object.values(definition));
    server.addService(
      definition,
      guardImplementation(definition, implementation as UntypedServiceImplementation, { onInternalError }),
    );
  }

  const healthNames =
    options.healthServiceNames ?? options.services.flatMap(({ definition }) => serviceNamesOf(definition));
  const health = new HealthImplementation(
    Object.fromEntries(['', ...healthNames].map((n): [string, ServingStatus] => [n, 'NOT_SERVING'])),
  );
  health.addToServer(server);
  new ReflectionService(
    loadForReflection(
      [...new Set([...options.protoFiles, protoFile('boundary')])],
      [...(options.includeDirs ?? []), protoIncludeDir()],
    ),
  ).addToServer(server);

  const requested = joinHostPort(config.host, config.port);
  const port = await bind(server, requested);
  const address = joinHostPort(config.host, port);

  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== null) {
    try {
      metricsServer = await startMetricsServer(metrics.registry, config.host, config.metricsPort);
    } catch (err) {
      server.forceShutdown();
      throw err;
    }
  }

  const setAll = (status: ServingStatus) => {
    for (const n of ['', ...healthNames]) health.setStatus(n, status);
  };
  setAll('SERVING');
  // Containers and scripts wait for this exact line (Wait.forLogMessage(/listening on/)).
  logger.info({ address }, `${name} listening on ${address}`);
  if (metricsServer) {
    const metricsUrl = `http://${joinHostPort(config.host, metricsServer.port)}/metrics`;
    logger.info({ metricsUrl }, `${name} metrics on ${metricsUrl}`);
  }

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      setAll('NOT_SERVING');
      logger.info({ timeoutMs: config.shutdownTimeoutMs }, `${name} shutting down`);
      const graceful = await drain(server, config.shutdownTimeoutMs);
      if (!graceful) {
        const timeoutMs = config.shutdownTimeoutMs;
        logger.warn({ timeoutMs }, `${name} cancelled the calls still running after ${timeoutMs}ms`);
      }
      await metricsServer?.close();
      logger.info(`${name} stopped`);
    })();
    return stopping;
  };

  return {
    name,
    address,
    port,
    metricsPort: metricsServer?.port ?? null,
    logger,
    metricsRegistry: metrics.registry,
    setServing(serviceOrStatus: string, maybeStatus?: ServingStatus) {
      if (maybeStatus === undefined) setAll(serviceOrStatus as ServingStatus);
      else health.setStatus(serviceOrStatus, maybeStatus);
    },
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}

/** Fully-qualified service names in a definition, read off its method paths. */
export function serviceNamesOf(definition: ServiceDefinition<unknown>): string[] {
  const names = new Set<string>();
  for (const method of Object.values(definition)) {
    names.add(splitMethodPath((method as { path: string }).path)[0]);
  }
  return [...names];
}

function loadForReflection(protoFiles: readonly string[], includeDirs: readonly string[]): PackageDefinition {
  try {
    return loadSync([...protoFiles, healthProtoPath], { includeDirs: [...includeDirs] });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new StartupError(`cannot load proto files: ${reason.split('\n', 1)[0] ?? reason}`, undefined, {
      cause: err,
    });
  }
}

function bind(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => {
      if (err) {
        server.forceShutdown();
        reject(bindFailure(address, err));
      } else {
        resolve(port);
      }
    });
  });
}

/** tryShutdown raced with a timer (it can hang on open streams, grpc/grpc-node#1458); true if it finished in time. */
function drain(server: Server, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve(false);
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
