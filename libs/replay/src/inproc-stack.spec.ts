import { builtinWorkload } from './builtin';
import { runWorkload } from './engine/engine';
import { replayWorkload } from './engine/replay';
import { bootInprocStack } from './inproc-stack';
import { loadOpsText } from './workload/load-ops';
import { comparableReport } from './report/comparable';

describe('the inproc stack', () => {
  it.each(['lab-mmap', 'demand-paging', 'fork-cow', 'buddy-fragmentation', 'malloc-churn', 'mixed'])(
    '%s runs to completion with every expectation met',
    async (name) => {
      const w = builtinWorkload(name);
      if (!w) throw new Error(name);
      const report = await replayWorkload(w, bootInprocStack);
      expect(report.failures).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.transport).toBe('inproc');
      expect(report.processes.every((p) => p.exit === 'exited 0')).toBe(true);
    },
  );

  it('demand-paging end to end: faults, signals, machine figures and every boundary measured', async () => {
    const w = builtinWorkload('demand-paging');
    if (!w) throw new Error('demand-paging');
    const report = await replayWorkload(w, bootInprocStack);
    const [p] = report.processes;
    // 64 zero-page reads then 32 writes over them, plus what the zipfian walk adds
    expect(p.faults.byCause['read, not present']).toBeGreaterThanOrEqual(64);
    expect(p.faults.byCause['write, protection']).toBeGreaterThanOrEqual(32);
    expect(p.signals.map((s) => s.code)).toEqual(['SEGV_ACCERR', 'SEGV_MAPERR', 'SEGV_ACCERR']);
    expect(report.tlb.map((t) => t.cpu)).toEqual([0, 1]);
    expect(report.tlb[0].hits).toBeGreaterThan(0);
    expect(report.pageTablePages.peak).toBeGreaterThan(report.pageTablePages.before);
    expect(report.buddySeries.length).toBeGreaterThan(2);
    expect(report.memoryMap.end.totalPfns).toBe(16384);
    const boundaries = new Set(report.boundaries.map((b) => b.boundary));
    for (const b of [
      'orchestrator→vma-manager',
      'orchestrator→mmu',
      'orchestrator→page-allocator',
      'vma-manager→mmu',
      'vma-manager→page-allocator',
      'mmu→page-allocator',
    ])
      expect(boundaries).toContain(b);
  });

  it('is deterministic: two runs give the same report, PFNs and /proc texts included', async () => {
    const w = builtinWorkload('fork-cow');
    if (!w) throw new Error('fork-cow');
    const a = await runWorkload(w, await bootInprocStack(w.machine));
    const b = await runWorkload(w, await bootInprocStack(w.machine));
    expect(comparableReport(b)).toEqual(comparableReport(a));
  });
});

describe('an oracle script on the inproc stack', () => {
  it('passes lengths near 2^64 through exactly and records the errno', async () => {
    const w = loadOpsText(
      'mmap 0x7e0000000000 0x2000 rw- private|anonymous|fixed_noreplace\nmunmap 0x7e0000000000 0xfffffffffffff000\nfork-touch 0x7e0000000000 0x2000 w 4\n',
      'wrap.ops',
    );
    const report = await replayWorkload(w, bootInprocStack);
    expect(report.failures).toEqual([]);
    expect(report.processes[0].log.map((l) => `${l.call} ${l.result}`)).toEqual([
      'mmap(0x7e0000000000, 8192, 0x3, 0x100022, -1, 0) = 0x7e0000000000',
      'munmap(0x7e0000000000, 18446744073709547520) = -1 EINVAL',
      'fork() = 2',
    ]);
    expect(report.processes[1]).toMatchObject({ name: 'child1', faults: { total: 2 } });
  });
});
