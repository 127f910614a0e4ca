import type { RunReport } from './model';

/**
 * A report without what differs from run to run of the same workload and seed: latencies, the
 * duration, and the transport's name. Two runs, on any transports, must give equal comparable
 * reports (the same PFNs, the same /proc texts, the same calls and items per boundary).
 */
export function comparableReport(r: RunReport): Omit<RunReport, 'boundaries' | 'totals' | 'transport'> & {
  readonly boundaries: readonly { boundary: string; method: string; calls: number; items: number }[];
  readonly totals: Omit<RunReport['totals'], 'durationMs'>;
} {
  const { boundaries, totals, transport: _transport, ...rest } = r;
  const { durationMs: _durationMs, ...counts } = totals;
  return {
    ...rest,
    // only the orchestrator's own boundaries exist on every transport
    boundaries: boundaries
      .filter((b) => b.boundary.startsWith('orchestrator→'))
      .map(({ boundary, method, calls, items }) => ({ boundary, method, calls, items })),
    totals: counts,
  };
}
