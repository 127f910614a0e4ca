import type { Benchmark } from './benchmark';

/**
 * Every benchmark `pagemesh bench` knows, in the order it runs them. Domain libraries export
 * their in-process benchmarks; the ones that need services running live beside the CLI.
 */
export function allBenchmarks(): Benchmark[] {
  return [];
}
