import {
  BoundaryFigure,
  BoundaryServiceService,
  GetBoundaryFiguresResponse,
  type BoundaryServiceServer,
} from '@pagemesh/proto';
import { LATENCY_BASE_MS, LATENCY_BUCKETS_PER_OCTAVE } from './latency-histogram';
import type { CallerFigures, OutgoingCallFigures } from './outgoing-calls';

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
 * BoundaryService over one caller's table: the calls the service made since it started (what its
 * pools recorded). startService serves it beside health and reflection.
 */
export function boundaryServiceRegistration(outgoingCalls: CallerFigures): {
  readonly definition: typeof BoundaryServiceService;
  readonly implementation: BoundaryServiceServer;
} {
  return {
    definition: BoundaryServiceService,
    implementation: {
      getBoundaryFigures(_call, callback) {
        callback(null, boundaryFiguresToWire(outgoingCalls.figures()));
      },
    },
  };
}
