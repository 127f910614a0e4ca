import type { BoundaryServiceClient, GetBoundaryFiguresResponse } from '@pagemesh/proto';
import { DomainError } from '../domain-errors';
import { promisifyUnary } from '../promisify-unary';
import { LATENCY_BASE_MS, LATENCY_BUCKETS_PER_OCTAVE, LatencyHistogram } from './latency-histogram';
import type { OutgoingCallFigures } from './outgoing-calls';

/**
 * The rows of a GetBoundaryFigures answer. A histogram on another scale (a service built with
 * another kit) cannot be read as ours: that is refused, naming the scale.
 */
export function boundaryFiguresFromWire(res: GetBoundaryFiguresResponse): OutgoingCallFigures[] {
  if (res.latencyBaseMs !== LATENCY_BASE_MS || res.latencyBucketsPerOctave !== LATENCY_BUCKETS_PER_OCTAVE)
    throw new DomainError(
      'failed-precondition',
      `latency histogram of base ${res.latencyBaseMs} ms and ${res.latencyBucketsPerOctave} buckets per octave: ` +
        `this kit reads base ${LATENCY_BASE_MS} ms, ${LATENCY_BUCKETS_PER_OCTAVE} per octave`,
      { field: 'latency_buckets_per_octave', value: res.latencyBucketsPerOctave },
    );
  return res.figures.map((f) => ({
    caller: f.caller,
    callee: f.callee,
    method: f.method,
    calls: Number(f.calls),
    items: Number(f.items),
    p50Ms: f.p50Ms,
    p99Ms: f.p99Ms,
    latency: LatencyHistogram.fromBuckets(
      f.latencyBuckets.map((b) => ({ index: b.index, count: Number(b.count) })),
    ),
  }));
}

/** The outgoing calls of the service behind `client`, since it started. */
export async function fetchBoundaryFigures(client: BoundaryServiceClient): Promise<OutgoingCallFigures[]> {
  return boundaryFiguresFromWire(await promisifyUnary(client, 'getBoundaryFigures')({}));
}

/**
 * What was called between two snapshots of the same services (`before` taken first): calls,
 * items and histograms subtracted row by row, percentiles read off the difference. Rows with no
 * call in between are left out.
 */
export function boundaryFiguresSince(
  after: readonly OutgoingCallFigures[],
  before: readonly OutgoingCallFigures[],
): OutgoingCallFigures[] {
  const key = (r: OutgoingCallFigures) => `${r.caller}\u0000${r.callee}\u0000${r.method}`;
  const earlier = new Map(before.map((r) => [key(r), r]));
  const out: OutgoingCallFigures[] = [];
  for (const r of after) {
    const b = earlier.get(key(r));
    if (!b) {
      out.push(r);
      continue;
    }
    const calls = r.calls - b.calls;
    if (calls <= 0) continue;
    const latency = r.latency.minus(b.latency);
    out.push({
      ...r,
      calls,
      items: r.items - b.items,
      p50Ms: latency.percentile(50),
      p99Ms: latency.percentile(99),
      latency,
    });
  }
  return out;
}
