import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runWorkload } from '../engine/engine';
import { FakeMachine } from '../testing/fake-stack';
import { loadWorkloadText } from '../workload/load-workload';
import { BUILTIN_WORKLOADS, builtinWorkload, listBuiltinWorkloads } from './index';

describe('built-in workloads', () => {
  it('lists the six workloads with descriptions', () => {
    expect(listBuiltinWorkloads().map((w) => w.name)).toEqual([
      'lab-mmap',
      'demand-paging',
      'fork-cow',
      'buddy-fragmentation',
      'malloc-churn',
      'mixed',
    ]);
    for (const w of listBuiltinWorkloads()) expect(w.description.length).toBeGreaterThan(20);
  });

  it.each(BUILTIN_WORKLOADS.map((w) => w.name))('%s loads and passes the schema and name checks', (name) => {
    const w = builtinWorkload(name);
    expect(w?.name).toBe(name);
    expect(w?.processes.length).toBeGreaterThan(0);
  });

  it('returns null for an unknown name', () => {
    expect(builtinWorkload('nope')).toBeNull();
  });

  // The fake machine models anonymous memory, fork/COW and a kmmap-like device, enough to run
  // these three through the engine; the real stacks run all six (inproc and grpc tests).
  it.each(['lab-mmap', 'demand-paging', 'fork-cow'])(
    '%s runs to completion on the fake machine',
    async (name) => {
      const w = builtinWorkload(name);
      if (!w) throw new Error(name);
      const report = await runWorkload(w, new FakeMachine().stack(), { now: () => 0 });
      expect(report.failures).toEqual([]);
      expect(report.processes.every((p) => p.exit === 'exited 0')).toBe(true);
    },
  );
});

describe('the README example', () => {
  it('loads and runs as documented', async () => {
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    if (!yaml) throw new Error('no yaml block in README.md');
    const report = await runWorkload(loadWorkloadText(yaml, 'README.md'), new FakeMachine().stack(), {
      now: () => 0,
    });
    expect(report.failures).toEqual([]);
  });
});
