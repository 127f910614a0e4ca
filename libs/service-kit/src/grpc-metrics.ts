import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** go-grpc-prometheus's label for how a method streams. */
export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

/** The server-side metrics under the names go-grpc-prometheus dashboards and alerts expect. */
export interface GrpcServerMetrics {
  readonly registry: Registry;
  readonly started: Counter<'grpc_service' | 'grpc_method' | 'grpc_type'>;
  readonly handled: Counter<'grpc_service' | 'grpc_method' | 'grpc_type' | 'grpc_code'>;
  readonly handlingSeconds: Histogram<'grpc_service' | 'grpc_method' | 'grpc_type'>;
}

/**
 * Latency buckets in seconds. A unary call on loopback takes about 0.6 ms on the CI machine
 * (docs/design stack.md), below Prometheus's default first bucket of 5 ms, so finer buckets lead.
 */
export const HANDLING_SECONDS_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** A registry of its own per service, so two services in one process (tests) never collide. */
export function createGrpcServerMetrics(options: { defaultMetrics?: boolean } = {}): GrpcServerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const started = new Counter({
    name: 'grpc_server_started_total',
    help: 'Total number of RPCs started on the server.',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_type'] as const,
    registers: [registry],
  });
  const handled = new Counter({
    name: 'grpc_server_handled_total',
    help: 'Total number of RPCs completed on the server, regardless of success or failure.',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_type', 'grpc_code'] as const,
    registers: [registry],
  });
  const handlingSeconds = new Histogram({
    name: 'grpc_server_handling_seconds',
    help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_type'] as const,
    buckets: HANDLING_SECONDS_BUCKETS,
    registers: [registry],
  });
  return { registry, started, handled, handlingSeconds };
}

export function grpcTypeOf(method: { requestStream: boolean; responseStream: boolean }): GrpcType {
  if (method.requestStream) return method.responseStream ? 'bidi_stream' : 'client_stream';
  return method.responseStream ? 'server_stream' : 'unary';
}

/** `/pagemesh.mmu.v1.Mmu/Walk` → `['pagemesh.mmu.v1.Mmu', 'Walk']`. */
export function splitMethodPath(path: string): [service: string, method: string] {
  const trimmed = path.startsWith('/') ? path.slice(1) : path;
  const slash = trimmed.lastIndexOf('/');
  return slash < 0 ? ['unknown', trimmed] : [trimmed.slice(0, slash), trimmed.slice(slash + 1)];
}

/**
 * Creates every method's series at zero, as go-grpc-prometheus's InitializeMetrics does, so a
 * dashboard's rate() shows 0 for a method never called rather than no data.
 */
export function initializeMethodMetrics(
  metrics: GrpcServerMetrics,
  methods: Iterable<{ path: string; requestStream: boolean; responseStream: boolean }>,
): void {
  for (const method of methods) {
    const [grpcService, grpcMethod] = splitMethodPath(method.path);
    const labels = { grpc_service: grpcService, grpc_method: grpcMethod, grpc_type: grpcTypeOf(method) };
    metrics.started.inc(labels, 0);
    metrics.handled.inc({ ...labels, grpc_code: 'OK' }, 0);
    metrics.handlingSeconds.zero(labels);
  }
}
