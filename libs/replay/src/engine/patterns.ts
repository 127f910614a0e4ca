import { PAGE_SIZE } from '@pagemesh/uapi';
import type { PatternKind } from '../workload/model';
import { Prng } from './prng';

export interface PatternSpec {
  readonly pattern: PatternKind;
  /** Bytes in the range the accesses stay in. */
  readonly length: number;
  readonly count: number;
  /** Bytes between two accesses (strided). */
  readonly stride: number;
  /** Zipf exponent (zipfian), > 0. */
  readonly theta: number;
  /** Probability of a write, 0..1. */
  readonly writeRatio: number;
  readonly seed: number;
}

export interface GeneratedAccesses {
  /** Byte offset of each access from the start of the range. */
  readonly offsets: Float64Array;
  /** 1 where the access is a write. */
  readonly writes: Uint8Array;
}

/**
 * The accesses of a generated pattern, all inside [0, length):
 * - sequential: the first byte of each page in order, wrapping at the end of the range;
 * - strided: 0, stride, 2*stride, ... modulo the length;
 * - uniform: the first byte of a page drawn uniformly;
 * - zipfian: the first byte of page k with probability proportional to 1/(k+1)^theta (page 0
 *   hottest), drawn by inverting the cumulative distribution.
 * Each access then draws one number to decide read or write, so the addresses of a seed do not
 * depend on the write ratio.
 */
export function generatePattern(spec: PatternSpec): GeneratedAccesses {
  const { length, count } = spec;
  if (length < 1) throw new RangeError(`generatePattern: length must be positive, got ${length}`);
  const pages = Math.max(1, Math.ceil(length / PAGE_SIZE));
  const offsets = new Float64Array(count);
  const writes = new Uint8Array(count);
  const rng = new Prng(spec.seed);
  const cdf = spec.pattern === 'zipfian' ? zipfCdf(pages, spec.theta) : null;
  for (let i = 0; i < count; i++) {
    let off: number;
    switch (spec.pattern) {
      case 'sequential':
        off = (i % pages) * PAGE_SIZE;
        break;
      case 'strided':
        off = (i * spec.stride) % length;
        break;
      case 'uniform':
        off = rng.below(pages) * PAGE_SIZE;
        break;
      case 'zipfian':
        off = lowerBound(cdf as Float64Array, rng.next()) * PAGE_SIZE;
        break;
    }
    offsets[i] = Math.min(off, length - 1);
    writes[i] = rng.next() < spec.writeRatio ? 1 : 0;
  }
  return { offsets, writes };
}

function zipfCdf(n: number, theta: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / Math.pow(k + 1, theta);
    cdf[k] = sum;
  }
  for (let k = 0; k < n; k++) cdf[k] /= sum;
  cdf[n - 1] = 1;
  return cdf;
}

/** First index whose value is > u. */
function lowerBound(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
