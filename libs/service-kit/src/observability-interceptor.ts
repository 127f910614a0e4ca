import {
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { grpcTypeOf, splitMethodPath, type GrpcServerMetrics } from './grpc-metrics';

/** Services whose calls are routine probes: logged at debug so they do not drown the log. */
const PROBE_SERVICES: ReadonlySet<string> = new Set([
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
  'pagemesh.v1.BoundaryService',
]);

const NANOS_PER_SECOND = 1e9;

/** Status codes that mean a bug or a broken peer rather than a request the service refused. */
const SERVER_FAULTS: ReadonlySet<status> = new Set([
  status.INTERNAL,
  status.UNKNOWN,
  status.DATA_LOSS,
  status.UNIMPLEMENTED,
]);

/**
 * A server interceptor that, for every call, counts it started and handled, times it, and
 * writes one log line: method, status code, duration and peer.
 *
 * A call the client cancels, or whose deadline passes, ends inside grpc-js without passing
 * through the interceptor's status hook; the cancel listener records it as DEADLINE_EXCEEDED
 * when the deadline has passed, else CANCELLED.
 */
export function createObservabilityInterceptor(
  logger: Logger,
  metrics: GrpcServerMetrics,
): ServerInterceptor {
  return (methodDescriptor, call) => {
    const path = methodDescriptor.path;
    const [grpcService, grpcMethod] = splitMethodPath(path);
    const labels = {
      grpc_service: grpcService,
      grpc_method: grpcMethod,
      grpc_type: grpcTypeOf(methodDescriptor),
    };
    const startedAt = process.hrtime.bigint();
    const peer = call.getPeer();
    metrics.started.inc(labels);
    let finished = false;

    const finish = (code: status, details: string | undefined): void => {
      if (finished) return;
      finished = true;
      const seconds = Number(process.hrtime.bigint() - startedAt) / NANOS_PER_SECOND;
      const codeName = status[code] ?? String(code);
      metrics.handled.inc({ ...labels, grpc_code: codeName });
      metrics.handlingSeconds.observe(labels, seconds);
      const durationMs = Math.round(seconds * 1e6) / 1e3;
      const fields: Record<string, unknown> = { rpc: path, grpcCode: codeName, durationMs, peer };
      if (code !== status.OK && details) fields['details'] = details;
      const msg = `${path} ${codeName} ${durationMs}ms`;
      if (SERVER_FAULTS.has(code)) logger.error(fields, msg);
      else if (PROBE_SERVICES.has(grpcService)) logger.debug(fields, msg);
      else if (code === status.OK) logger.info(fields, msg);
      else logger.warn(fields, msg);
    };

    const deadlinePassed = (): boolean => {
      const deadline = call.getDeadline();
      const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
      return Number.isFinite(deadlineMs) && Date.now() >= deadlineMs;
    };
    const onCancel = (): void => {
      if (deadlinePassed()) finish(status.DEADLINE_EXCEEDED, 'Deadline exceeded');
      else finish(status.CANCELLED, 'Cancelled');
    };

    const responder = new ResponderBuilder()
      .withStart((next) => next(new ServerListenerBuilder().withOnCancel(onCancel).build()))
      .withSendStatus((statusObject, next) => {
        const code = statusObject.code ?? status.UNKNOWN;
        // Past the deadline grpc-js has already answered DEADLINE_EXCEEDED; a late OK never reaches the client.
        if (code === status.OK && deadlinePassed()) finish(status.DEADLINE_EXCEEDED, 'Deadline exceeded');
        else finish(code, statusObject.details);
        next(statusObject);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
}
