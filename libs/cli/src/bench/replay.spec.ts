import { bootInprocStack, builtinWorkload, replayWorkload } from '@pagemesh/replay';
import { operations, replayBenchmarks, smallMixed } from './replay';

describe('the replay benchmarks', () => {
  jest.setTimeout(60_000);

  it('replay a smaller mixed: four workers, fewer generated accesses, the same machine', async () => {
    const small = smallMixed();
    const mixed = builtinWorkload('mixed');
    expect(small.machine).toEqual(mixed?.machine);
    expect(small.processes.map((p) => p.name)).toEqual(['worker0', 'worker1', 'worker2', 'worker3']);
    expect(small.source).toMatch(/first 4 of 8 workers, pattern counts \/ 4/);
    const report = await replayWorkload(small, bootInprocStack, {});
    expect(report.failures).toEqual([]);
    expect(operations(report)).toBe(report.totals.syscalls + report.totals.accesses);
    expect(operations(report)).toBeGreaterThan(1000);
  });

  it('name each transport and the ratio, and say what they replay', () => {
    expect(replayBenchmarks.map((b) => b.id)).toEqual([
      'replay.mixed_ops_per_s.inproc',
      'replay.mixed_ops_per_s.grpc',
      'replay.boundary_overhead_ratio',
    ]);
    for (const b of replayBenchmarks) expect(b.unit).toMatch(/first 4 of 8 workers/);
  });
});
