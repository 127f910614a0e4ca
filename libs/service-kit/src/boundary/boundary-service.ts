import {
  BoundaryFigure,
  BoundaryServiceService,
  GetBoundaryFiguresResponse,
  type BoundaryServiceServer,
} from '@pagemesh/proto';
import { LATENCY_BASE_MS, LATENCY_BUCKETS_PER_OCTAVE } from './latency-histogram';
import { outgoingCallsOf, type OutgoingCallFigures } from './outgoing-calls';

/** The rows as BoundaryService answers them. */
export function boundaryFiguresToWire(rows: readonly OutgoingCallFigures[]): GetBoundaryFiguresResponse {
  return GetBoundaryFiguresResponse.fromPartial({
    figures: rows.map((r) =>
      BoundaryFigure.fromPartial({
        caller: r.caller,
        callee: r.callee,
        method: r.method,
        calls: BigInt(r.calls),
        items: BigInt(r.items),
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        latencyBuckets: r.latency.buckets().map((b) => ({ index: b.index, count: BigInt(b.count) })),
      }),
    ),
    latencyBaseMs: LATENCY_BASE_MS,
    latencyBucketsPerOctave: LATENCY_BUCKETS_PER_OCTAVE,
  });
}

/**
 * BoundaryService for the service `caller`: the calls it made since it started (its pools'
 * rows in the process-wide registry). startService serves it beside health and reflection.
 */
export function boundaryServiceRegistration(caller: string): {
  readonly definition: typeof BoundaryServiceService;
  readonly implementation: BoundaryServiceServer;
} {
  return {
    definition: BoundaryServiceService,
    implementation: {
      getBoundaryFigures(_call, callback) {
        callback(null, boundaryFiguresToWire(outgoingCallsOf(caller).figures()));
      },
    },
  };
}
