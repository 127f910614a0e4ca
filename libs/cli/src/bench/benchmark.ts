/**
 * A benchmark as the domain libraries export it: `run()` measures once and returns the figure.
 * The runner repeats it and reports the median, because these machines are noisy.
 */
export interface Benchmark {
  readonly id: string;
  readonly unit: string;
  /** The target from the issue, shown next to the figure; never asserted. */
  readonly goal?: { readonly op: '>=' | '<='; readonly value: number };
  run(): number | Promise<number>;
}

export interface BenchResult {
  readonly id: string;
  readonly value: number;
  readonly unit: string;
  readonly runs: readonly number[];
  readonly goal?: Benchmark['goal'];
  readonly meetsGoal?: boolean;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One warm-up run, then `repeats` measured runs; the figure is their median. */
export async function runBenchmark(bench: Benchmark, repeats: number): Promise<BenchResult> {
  await bench.run();
  const runs: number[] = [];
  for (let i = 0; i < repeats; i++) runs.push(await bench.run());
  const value = median(runs);
  const meetsGoal = bench.goal
    ? bench.goal.op === '>='
      ? value >= bench.goal.value
      : value <= bench.goal.value
    : undefined;
  return { id: bench.id, value, unit: bench.unit, runs, goal: bench.goal, meetsGoal };
}
