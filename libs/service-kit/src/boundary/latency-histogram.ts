/**
 * Latencies of the calls across one boundary, in a fixed log-scale histogram rather than a list
 * of samples: recording is one increment in a preallocated array however many calls a service
 * makes (a list would grow by a number per call, a bounded reservoir would need a random draw per
 * call and could not be subtracted), and two snapshots of a long-running service subtract bucket
 * by bucket into the figures of what ran in between.
 *
 * Bucket i holds [BASE_MS * 2^(i/k), BASE_MS * 2^((i+1)/k)) with k = BUCKETS_PER_OCTAVE; the
 * first bucket also holds anything faster, the last anything slower. A percentile is the middle
 * (geometric) of the bucket that holds its rank, so it is within half a bucket of the exact
 * nearest-rank value: 2^(1/32) - 1, about 2.2 %.
 */

/** The first bucket's lower bound: a microsecond, well under any call across a loopback socket. */
export const LATENCY_BASE_MS = 0.001;
/** Buckets per doubling of the latency (so that a percentile is off by at most about 2.2 %). */
export const LATENCY_BUCKETS_PER_OCTAVE = 16;
/** 2^28 µs is about 268 s, past the kit's 10 s default deadline and any stream's age limit. */
const OCTAVES = 28;
export const LATENCY_BUCKETS = OCTAVES * LATENCY_BUCKETS_PER_OCTAVE;

/** A bucket that holds at least one call (the wire's sparse form). */
export interface LatencyBucketCount {
  readonly index: number;
  readonly count: number;
}

/** The bucket a latency falls in. */
export function latencyBucketOf(ms: number): number {
  if (!(ms > LATENCY_BASE_MS)) return 0;
  const i = Math.floor(Math.log2(ms / LATENCY_BASE_MS) * LATENCY_BUCKETS_PER_OCTAVE);
  return i < LATENCY_BUCKETS ? i : LATENCY_BUCKETS - 1;
}

/** The value a bucket stands for: its geometric middle. */
export function latencyOfBucket(index: number): number {
  return LATENCY_BASE_MS * 2 ** ((index + 0.5) / LATENCY_BUCKETS_PER_OCTAVE);
}

export class LatencyHistogram {
  /** Float64, not Uint32: a counter that a long benchmark could push past 2^32 must not wrap. */
  private readonly counts = new Float64Array(LATENCY_BUCKETS);
  private total = 0;

  record(ms: number): void {
    this.counts[latencyBucketOf(ms)]++;
    this.total++;
  }

  get count(): number {
    return this.total;
  }

  /**
   * The nearest-rank percentile (as the replay's in-process recorder computes it: the value of
   * rank ceil(p/100 * n)), read as the middle of the bucket that holds that rank; 0 for no calls.
   */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.min(this.total, Math.max(1, Math.ceil((p / 100) * this.total)));
    let seen = 0;
    for (let i = 0; i < LATENCY_BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return latencyOfBucket(i);
    }
    return latencyOfBucket(LATENCY_BUCKETS - 1);
  }

  /** The buckets that hold a call, in index order. */
  buckets(): LatencyBucketCount[] {
    const out: LatencyBucketCount[] = [];
    for (let i = 0; i < LATENCY_BUCKETS; i++)
      if (this.counts[i] > 0) out.push({ index: i, count: this.counts[i] });
    return out;
  }

  /** A histogram of these buckets (an index out of range is refused: it is another scale). */
  static fromBuckets(buckets: readonly LatencyBucketCount[]): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const { index, count } of buckets) {
      if (!Number.isInteger(index) || index < 0 || index >= LATENCY_BUCKETS)
        throw new RangeError(
          `latency bucket index must be an integer in [0, ${LATENCY_BUCKETS}): current value is ${index}`,
        );
      h.counts[index] += count;
      h.total += count;
    }
    return h;
  }

  /**
   * What was recorded since `earlier`, a snapshot of the same histogram: bucket by bucket, never
   * below zero (a snapshot from before a restart would otherwise give negative counts).
   */
  minus(earlier: LatencyHistogram): LatencyHistogram {
    const h = new LatencyHistogram();
    for (let i = 0; i < LATENCY_BUCKETS; i++) {
      const c = Math.max(0, this.counts[i] - earlier.counts[i]);
      h.counts[i] = c;
      h.total += c;
    }
    return h;
  }
}
