import fc from 'fast-check';
import { LATENCY_BUCKETS, LatencyHistogram, latencyBucketOf, latencyOfBucket } from './latency-histogram';

/** The exact nearest-rank percentile, as the replay's in-process recorder computes it. */
function exact(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Half a bucket: 2^(1/32). */
const HALF_BUCKET = 2 ** (1 / 32);

const latency = fc.double({ min: 0.002, max: 100_000, noNaN: true });

describe('LatencyHistogram', () => {
  it('gives 0 for no calls', () => {
    const h = new LatencyHistogram();
    expect(h.count).toBe(0);
    expect(h.percentile(50)).toBe(0);
    expect(h.buckets()).toEqual([]);
  });

  it('reads p50 and p99 within half a bucket of the exact nearest-rank values', () => {
    fc.assert(
      fc.property(
        fc.array(latency, { minLength: 1, maxLength: 300 }),
        fc.constantFrom(50, 99),
        (values, p) => {
          const h = new LatencyHistogram();
          for (const v of values) h.record(v);
          const want = exact(values, p);
          const got = h.percentile(p);
          expect(got / want).toBeLessThanOrEqual(HALF_BUCKET * (1 + 1e-9));
          expect(want / got).toBeLessThanOrEqual(HALF_BUCKET * (1 + 1e-9));
        },
      ),
    );
  });

  it('puts what is faster than its base in the first bucket and what is slower than its range in the last', () => {
    expect(latencyBucketOf(0)).toBe(0);
    expect(latencyBucketOf(-1)).toBe(0);
    expect(latencyBucketOf(Number.NaN)).toBe(0);
    expect(latencyBucketOf(1e12)).toBe(LATENCY_BUCKETS - 1);
    expect(latencyBucketOf(latencyOfBucket(100))).toBe(100);
  });

  it('subtracts an earlier snapshot bucket by bucket: the figures of what ran in between', () => {
    fc.assert(
      fc.property(
        fc.array(latency, { maxLength: 100 }),
        fc.array(latency, { minLength: 1, maxLength: 100 }),
        (first, then) => {
          const h = new LatencyHistogram();
          for (const v of first) h.record(v);
          const before = LatencyHistogram.fromBuckets(h.buckets());
          for (const v of then) h.record(v);
          const only = new LatencyHistogram();
          for (const v of then) only.record(v);
          const since = h.minus(before);
          expect(since.count).toBe(then.length);
          expect(since.buckets()).toEqual(only.buckets());
          expect(since.percentile(99)).toBe(only.percentile(99));
        },
      ),
    );
  });

  it('refuses a bucket of another scale', () => {
    expect(() => LatencyHistogram.fromBuckets([{ index: LATENCY_BUCKETS, count: 1 }])).toThrow(
      `latency bucket index must be an integer in [0, ${LATENCY_BUCKETS}): current value is ${LATENCY_BUCKETS}`,
    );
  });
});
