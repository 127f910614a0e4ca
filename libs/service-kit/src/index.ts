/**
 * @pagemesh/service-kit: the one way to start and to call a pagemesh gRPC service.
 */

// Configuration
export {
  ConfigError,
  DEFAULT_HOST,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  envVarName,
  ephemeralServiceConfig,
  parseServiceConfig,
} from './service-config';
export type { ParseServiceConfigOptions, ServiceConfig } from './service-config';

// Logging
export { createServiceLogger, defaultLogLevel, LOG_LEVELS } from './logger';
export type { LogLevel, ServiceLoggerOptions } from './logger';

// Errors → gRPC status
export { DomainError, ERROR_KINDS, isDomainError, isErrorKind } from './domain-errors';
export type { DomainErrorDetails, DomainErrorLike, ErrorKind } from './domain-errors';
export {
  ERROR_FIELD_METADATA_KEY,
  ERROR_KIND_METADATA_KEY,
  ERROR_VALUE_METADATA_KEY,
  errorKindOf,
  formatValue,
  isStatusError,
  kindForStatus,
  STATUS_BY_KIND,
  statusForKind,
  toServiceError,
} from './status-table';
export type { StatusError } from './status-table';
export {
  guardBidiStreaming,
  guardClientStreaming,
  guardImplementation,
  guardServerStreaming,
  guardUnary,
} from './handler-guards';
export type {
  BidiStreamingHandler,
  ClientStreamingHandler,
  GuardOptions,
  ServerStreamingHandler,
  UnaryHandler,
} from './handler-guards';

// Streams of batches
export { serveBatchStream } from './batch-stream';
export { BatchRefusedError, BatchStreamClient } from './batch-stream-client';
export type { BatchAnswer, BatchStreamClientOptions } from './batch-stream-client';

// Server
export { serviceNamesOf, startService } from './start-service';
export type {
  RunningService,
  ServiceRegistration,
  ServingStatus,
  StartServiceOptions,
} from './start-service';
export { bindFailure, formatStartupFailure, StartupError } from './startup-error';
export { joinHostPort } from './host-port';
export { runServiceMain } from './run-service-main';
export type { RunServiceMainOptions } from './run-service-main';

// Observability
export {
  createGrpcServerMetrics,
  grpcTypeOf,
  HANDLING_SECONDS_BUCKETS,
  initializeMethodMetrics,
  splitMethodPath,
} from './grpc-metrics';
export type { GrpcServerMetrics, GrpcType } from './grpc-metrics';
export { createObservabilityInterceptor } from './observability-interceptor';
export { startMetricsServer } from './metrics-server';
export type { MetricsServer } from './metrics-server';

// Clients
export { ClientPool, DEFAULT_DEADLINE_MS, defaultDeadlineInterceptor, withDeadline } from './client-pool';
export type { ClientConstructor, ClientPoolOptions } from './client-pool';
export { promisifyUnary } from './promisify-unary';
export type { UnaryCallOptions } from './promisify-unary';
export { checkHealth, DEFAULT_HEALTH_TIMEOUT_MS, waitForServing } from './health-client';
export type { HealthState } from './health-client';

// Boundaries: the figures of every pooled client's calls, served on BoundaryService
export { LATENCY_BASE_MS, LATENCY_BUCKETS_PER_OCTAVE, LatencyHistogram } from './boundary/latency-histogram';
export type { LatencyBucketCount } from './boundary/latency-histogram';
export {
  ANONYMOUS_CALLER,
  CallerFigures,
  calleeName,
  defaultCaller,
  itemsOf,
  outgoingCallsOf,
  setProcessCaller,
} from './boundary/outgoing-calls';
export type { OutgoingCallFigures } from './boundary/outgoing-calls';
export { outgoingCallInterceptor } from './boundary/outgoing-call-interceptor';
export { boundaryFiguresToWire, boundaryServiceRegistration } from './boundary/boundary-service';
export {
  boundaryFiguresFromWire,
  boundaryFiguresSince,
  fetchBoundaryFigures,
} from './boundary/boundary-client';
