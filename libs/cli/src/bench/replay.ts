import {
  BUILTIN_WORKLOADS,
  bootInprocStack,
  loadWorkloadData,
  replayWorkload,
  type RunReport,
  type StackFactory,
  type Workload,
} from '@pagemesh/replay';
import { localGrpcStackFactory } from '../commands/replay';
import { median, type Benchmark } from './benchmark';

/**
 * The replay benchmarks replay a smaller `mixed`: over gRPC the full workload takes about a
 * minute on two cores, mostly in its ~4,900 page faults (one HandleFaults round trip each, the
 * vma-manager's calls to the mmu and page allocator inside), and each benchmark replays it six
 * times. Kept: the machine, the first WORKERS workers (one per access pattern: sequential,
 * strided, uniform, zipfian) with their children, syscalls, touches and checks; every generated
 * pattern's count is divided by SCALE_DOWN.
 */
const WORKERS = 4;
const SCALE_DOWN = 4;
export const SMALL_MIXED = `mixed, first ${WORKERS} of 8 workers, pattern counts / ${SCALE_DOWN}`;

export function smallMixed(): Workload {
  const mixed = BUILTIN_WORKLOADS.find((w) => w.name === 'mixed');
  if (!mixed) throw new Error('the built-in workload mixed is missing');
  const data = scalePatterns(mixed.data) as Record<string, unknown>;
  const processes = data['processes'] as unknown[];
  return loadWorkloadData({ ...data, processes: processes.slice(0, WORKERS) }, `builtin:${SMALL_MIXED}`);
}

function scalePatterns(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(scalePatterns);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = scalePatterns(v);
  const pattern = out['pattern'] as Record<string, unknown> | undefined;
  if (pattern && typeof pattern['count'] === 'number')
    out['pattern'] = { ...pattern, count: Math.max(1, Math.round(pattern['count'] / SCALE_DOWN)) };
  return out;
}

/** The operations of a run as the engine counts them (its progress units): syscalls and accesses. */
export function operations(report: RunReport): number {
  return report.totals.syscalls + report.totals.accesses;
}

/** One replay of the small mixed workload; a run whose expectations fail is no measurement. */
async function replaySmallMixed(boot: StackFactory): Promise<RunReport> {
  const report = await replayWorkload(smallMixed(), boot, {});
  if (!report.ok)
    throw new Error(
      `${report.workload.source} failed over ${report.transport}: ${report.failures.map((f) => f.what).join('; ')}`,
    );
  return report;
}

const grpc = (): StackFactory => localGrpcStackFactory({ progress: () => undefined });

interface Pair {
  readonly inproc: RunReport;
  readonly grpc: RunReport;
}

/** The same workload in-process then over gRPC, one after the other. */
async function measurePair(): Promise<Pair> {
  const inproc = await replaySmallMixed(bootInprocStack);
  const remote = await replaySmallMixed(grpc());
  if (operations(inproc) !== operations(remote))
    throw new Error(`grpc did ${operations(remote)} operations where inproc did ${operations(inproc)}`);
  return { inproc, grpc: remote };
}

/**
 * Pairs the gRPC benchmark measured and the ratio has not used yet: the ratio's figures come from
 * the same runs when both run (a replay over gRPC is long); alone, the ratio measures its own.
 */
const unclaimed: Pair[] = [];
/** The durations (ms) of the pairs the ratio used, for the baselines its unit shows. */
const used: { inproc: number; grpc: number }[] = [];

const opsPerSecond = (r: RunReport) => (operations(r) * 1000) / r.totals.durationMs;

export const replayBenchmarks: readonly Benchmark[] = [
  {
    id: 'replay.mixed_ops_per_s.inproc',
    unit: `ops/s (syscalls + accesses, in-process; ${SMALL_MIXED})`,
    async run() {
      return opsPerSecond(await replaySmallMixed(bootInprocStack));
    },
  },
  {
    id: 'replay.mixed_ops_per_s.grpc',
    unit: `ops/s (syscalls + accesses, services as local processes, their start not counted; ${SMALL_MIXED})`,
    async run() {
      const pair = await measurePair();
      unclaimed.push(pair);
      return opsPerSecond(pair.grpc);
    },
  },
  {
    id: 'replay.boundary_overhead_ratio',
    // the baselines of the same runs: each transport's median time
    get unit(): string {
      const what = `grpc time / inproc time, the same workload in the same run; ${SMALL_MIXED}`;
      if (used.length === 0) return `x (${what})`;
      const ms = (k: 'inproc' | 'grpc') => Math.round(median(used.map((p) => p[k])));
      return `x (${what}; medians: grpc ${ms('grpc')} ms, inproc ${ms('inproc')} ms)`;
    },
    async run() {
      const pair = unclaimed.shift() ?? (await measurePair());
      used.push({ inproc: pair.inproc.totals.durationMs, grpc: pair.grpc.totals.durationMs });
      return pair.grpc.totals.durationMs / pair.inproc.totals.durationMs;
    },
  },
];
