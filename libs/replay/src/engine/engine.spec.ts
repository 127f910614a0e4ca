import { FakeMachine } from '../testing/fake-stack';
import { loadOpsText } from '../workload/load-ops';
import { loadWorkloadText } from '../workload/load-workload';
import { runWorkload } from './engine';
import { replayWorkload } from './replay';

const clock = () => {
  let t = 0;
  return () => (t += 1);
};

function workload(body: string, machine = '{ cpus: 2, quantum: 64 }') {
  return loadWorkloadText(`name: t\nmachine: ${machine}\nprocesses:\n${body}`, 't.yaml');
}

const MMAP = `mmap: { addr: "0x7e0000000000", length: 16K, prot: rw-, flags: private|anonymous|fixed_noreplace, save: buf }`;

describe('runWorkload', () => {
  it('delivers each fault to the handler and retries the faulting access once', async () => {
    const m = new FakeMachine();
    const w = workload(`  - name: p
    ops:
      - ${MMAP}
      - touch: { addr: $buf, length: 16K, kind: write, value: 9, expect: { faults: 4 } }
      - access: { addr: "$buf+8K", kind: read, expect: { bytes: "09", faults: 0 } }
      - expect: { counters: { faults: 4, faults.anon: 4, RssAnon: 16 } }
`);
    const report = await runWorkload(w, m.stack(), { now: clock() });
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(m.faultsHandled.map((f) => f.address.toString(16))).toEqual([
      '7e0000000000',
      '7e0000001000',
      '7e0000002000',
      '7e0000003000',
    ]);
    // one batch that stops at each fault, then the retry that goes on: 4 faults + 1, then the read
    expect(m.calls.filter((c) => c.startsWith('access'))).toEqual([
      'access 0 4',
      'access 0 4',
      'access 0 3',
      'access 0 2',
      'access 0 1',
      'access 0 1',
    ]);
    expect(report.processes[0]).toMatchObject({
      name: 'p',
      exit: 'exited 0',
      accesses: 5,
      faults: { total: 4, byType: { anon: 4 }, byCause: { 'write, not present': 4 } },
    });
    // exit: the CPU leaves the address space before the mm goes (the mmu refuses to destroy a current one)
    expect(m.calls.slice(-2)).toEqual(['idle 0', 'exit 100']);
  });

  it('gives SIGSEGV when the retried access faults again for the same reason, without asking the handler twice', async () => {
    const m = new FakeMachine({ brokenHandler: true });
    const w = workload(`  - name: p
    ops:
      - ${MMAP}
      - access: { addr: $buf, kind: write }
      - munmap: { addr: $buf, length: 16K }
`);
    const report = await runWorkload(w, m.stack(), { now: clock() });
    expect(m.faultsHandled).toHaveLength(1);
    expect(report.ok).toBe(false);
    expect(report.processes[0].exit).toBe('killed by SIGSEGV (unresolved fault at 0x7e0000000000)');
    expect(report.failures).toEqual([
      {
        at: 't.yaml:7:9',
        what: 'p: access without a fatal signal',
        ok: false,
        detail: 'SIGSEGV (unresolved fault) at 0x7e0000000000, access 0',
      },
    ]);
    // the munmap after the fatal signal never ran
    expect(report.processes[0].syscalls.map((s) => s.call)).toEqual(['mmap']);
  });

  it('lets a process go on after a signal it expects, and kills it on one it does not', async () => {
    const m = new FakeMachine();
    const w = workload(`  - name: ok
    ops:
      - ${MMAP}
      - mprotect: { addr: $buf, length: 16K, prot: r-- }
      - touch: { addr: $buf, length: 16K, kind: write, expect: { signal: SIGSEGV, code: SEGV_ACCERR, faultIndex: 0 } }
      - access: { addr: "0x7e0000100000", kind: read, expect: { signal: SIGSEGV, code: SEGV_MAPERR } }
      - touch: { addr: $buf, length: 16K, kind: read }
  - name: dies
    ops:
      - access: { addr: "0x7e0000100000", kind: read }
      - exit: { code: 3 }
`);
    const report = await runWorkload(w, m.stack(), { now: clock() });
    const [ok, dies] = report.processes;
    expect(ok.exit).toBe('exited 0');
    expect(ok.expectations.every((e) => e.ok)).toBe(true);
    expect(ok.signals.map((s) => [s.signal, s.code, s.expected])).toEqual([
      ['SIGSEGV', 'SEGV_ACCERR', true],
      ['SIGSEGV', 'SEGV_MAPERR', true],
    ]);
    expect(dies.exit).toBe('killed by SIGSEGV (SEGV_MAPERR at 0x7e0000100000)');
    expect(report.failures.map((f) => f.what)).toEqual(['dies: access without a fatal signal']);
  });

  it('reports a failed syscall expectation with its place', async () => {
    const w = workload(`  - name: p
    ops:
      - ${MMAP}
      - ${MMAP.replace('save: buf', 'expect: { errno: EEXIST }')}
      - ${MMAP.replace('save: buf', 'expect: { errno: ENOMEM }')}
      - mmap: { addr: 0, length: 4K, prot: r--, flags: shared|anonymous }
`);
    const report = await runWorkload(w, new FakeMachine().stack(), { now: clock() });
    expect(report.failures).toEqual([
      { at: 't.yaml:8:9', what: 'p: mmap fails with ENOMEM', ok: false, detail: 'failed with EEXIST' },
    ]);
  });

  it('runs processes round robin on the CPUs, switching CR3 only when the process changes', async () => {
    const m = new FakeMachine();
    const proc = (name: string, base: string) => `  - name: ${name}
    ops:
      - mmap: { addr: "${base}", length: 8K, prot: rw-, flags: private|anonymous|fixed_noreplace }
      - touch: { addr: "${base}", length: 8K, kind: write }
`;
    const w = workload(
      proc('a', '0x7e0000000000') + proc('b', '0x7e0000100000') + proc('c', '0x7e0000200000'),
      '{ cpus: 2, quantum: 2 }',
    );
    const report = await runWorkload(w, m.stack(), { now: clock() });
    expect(report.ok).toBe(true);
    const trace = m.calls.filter((c) => c.startsWith('cr3'));
    // round 1: a on cpu0, b on cpu1; round 2: c on cpu0, a on cpu1; round 3: b on cpu0, c on cpu1 ...
    expect(trace.slice(0, 6)).toEqual(['cr3 0 1', 'cr3 1 2', 'cr3 0 3', 'cr3 1 1', 'cr3 0 2', 'cr3 1 3']);
    expect(report.totals.cr3Switches).toBe(trace.length);
  });

  it('is deterministic: the same workload and seed give the same calls and report', async () => {
    const text = `  - name: a
    ops:
      - ${MMAP}
      - pattern: { addr: $buf, length: 16K, pattern: zipfian, count: 200, writeRatio: 0.3 }
  - name: b
    ops:
      - mmap: { addr: "0x7e0001000000", length: 64K, prot: rw-, flags: private|anonymous|fixed_noreplace }
      - pattern: { addr: "0x7e0001000000", length: 64K, pattern: uniform, count: 300, writeRatio: 0.5 }
`;
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const m = new FakeMachine();
      const report = await runWorkload(workload(text, '{ cpus: 2, quantum: 7 }'), m.stack(), {
        now: clock(),
      });
      runs.push({ calls: m.calls, faults: m.faultsHandled, report: { ...report, boundaries: [] } });
    }
    expect(runs[1]).toEqual(runs[0]);
    const other = new FakeMachine();
    await runWorkload(workload(text, '{ cpus: 2, quantum: 7 }'), other.stack(), { now: clock(), seed: 99 });
    expect(other.faultsHandled).not.toEqual(runs[0].faults);
  });

  it('forks with COW: shared frames after fork, a copy on the child write, the parent keeps its frame', async () => {
    const w = workload(`  - name: parent
    ops:
      - ${MMAP}
      - touch: { addr: $buf, length: 16K, kind: write, value: 3 }
      - pfn: { addr: $buf, save: a }
      - fork:
          name: child
          ops:
            - expect: { page: { addr: $buf, refcount: 2, mapcount: 2, sameAs: a } }
            - touch: { addr: $buf, length: 8K, kind: write, value: 4, expect: { faults: 2 } }
            - expect: { page: { addr: $buf, refcount: 1, mapcount: 1, differentFrom: a } }
            - access: { addr: $buf, kind: read, expect: { bytes: "04" } }
            - post: child-wrote
            - await: parent-looked
      - await: child-wrote
      - access: { addr: $buf, kind: read, expect: { bytes: "03" } }
      - expect: { page: { addr: $buf, refcount: 1, mapcount: 1, sameAs: a } }
      - post: parent-looked
      - wait: { child: child, status: 0 }
      - expect: { page: { addr: "$buf+8K", refcount: 1, mapcount: 1 } }
`);
    const report = await runWorkload(w, new FakeMachine().stack(), { now: clock() });
    expect(report.failures).toEqual([]);
    expect(report.processes.map((p) => [p.name, p.parent, p.faults.byType])).toEqual([
      ['parent', null, { anon: 4 }],
      ['child', 'parent', { cow: 2 }],
    ]);
  });

  it('finds a deadlock and says who waited for what', async () => {
    const w = workload(`  - name: p
    ops:
      - await: x
      - post: y
  - name: q
    ops:
      - await: y
      - post: x
`);
    const report = await runWorkload(w, new FakeMachine().stack(), { now: clock() });
    expect(report.failures).toEqual([
      expect.objectContaining({
        at: 't.yaml:6:9',
        what: 'p: progress',
        detail: expect.stringContaining('blocked forever on await x'),
      }),
      expect.objectContaining({
        at: 't.yaml:10:9',
        what: 'q: progress',
        detail: expect.stringContaining('blocked forever on await y'),
      }),
    ]);
    expect(report.processes.map((p) => p.exit)).toEqual([
      'never finished (blocked on await x)',
      'never finished (blocked on await y)',
    ]);
  });

  it('drives a device through the fd table: mmap EIO above 16 pages, bytes through the mapping after write', async () => {
    const w = loadWorkloadText(
      `name: lab
modules: [kmmap]
processes:
  - name: mmap-test
    ops:
      - open: { path: /dev/mymmap, save: fd }
      - mmap: { length: 16p, prot: r--, flags: shared, fd: fd, save: dev }
      - expect: { bytes: { addr: $dev, hex: aabbccdd, pages: 16 } }
      - write: { fd: fd, length: 16p, pagePattern: a0b0c0d0 }
      - expect: { bytes: { addr: $dev, hex: a0b0c0d0, pages: 16 } }
      - read: { fd: fd, length: 16p, pagePattern: a0b0c0d0 }
      - mmap: { length: 17p, prot: r--, flags: shared, fd: fd, expect: { errno: EIO } }
      - proc: { file: /proc/my-proc-entry, save: before }
      - mmap: { length: 10M, prot: r--, flags: private|anonymous, save: anon }
      - proc: { file: /proc/my-proc-entry, save: after }
      - expect: { delta: { from: before, to: after, shift: 20, equals: 10, label: "mmaped :%d MB" } }
      - munmap: { addr: $anon, length: 10M }
      - munmap: { addr: $dev, length: 16p }
      - close: { fd: fd }
`,
      'lab.yaml',
    );
    const report = await runWorkload(w, new FakeMachine().stack(), { now: clock() });
    expect(report.failures).toEqual([]);
    const out = report.processes[0].output;
    expect(out.slice(0, 16)).toEqual(new Array(16).fill('matched'));
    expect(out[out.length - 1]).toBe('mmaped :10 MB');
  });
});

describe('runWorkload fault rules', () => {
  it('delivers a second fault of the same access when its error code differs (fetch: not-present, then PROT|INSTR)', async () => {
    const m = new FakeMachine();
    const base = m.stack();
    const codes = [0x14, 0x15];
    const delivered: number[] = [];
    const stack = {
      ...base,
      mmu: {
        ...base.mmu,
        accessBatch: async () => ({
          done: [],
          fault: { kind: 'page-fault' as const, address: 0x7e0000000000, errorCode: codes.shift() ?? 0x15 },
        }),
      },
      vma: {
        ...base.vma,
        handleFaults: async (_pid: number, faults: readonly { errorCode: number }[]) =>
          faults.map((f) => {
            delivered.push(f.errorCode);
            return f.errorCode === 0x14
              ? { kind: 'handled' as const, type: 'zero-page' }
              : { kind: 'sigsegv' as const, code: 'SEGV_ACCERR' as const };
          }),
      },
    };
    const w = workload(`  - name: p
    ops:
      - access: { addr: "0x7e0000000000", kind: fetch, expect: { signal: SIGSEGV, code: SEGV_ACCERR, faults: 1 } }
`);
    const report = await runWorkload(w, stack, { now: clock() });
    expect(delivered).toEqual([0x14, 0x15]);
    expect(report.failures).toEqual([]);
  });
});

describe('runWorkload on an oracle script', () => {
  it('runs fork-touch with the parent looking while the child lives, and records signals without failing', async () => {
    const w = loadOpsText(
      `mmap 0x7e0000000000 0x4000 rw- private|anonymous|fixed_noreplace
touch 0x7e0000000000 0x4000 w 3
fork-touch 0x7e0000000000 0x2000 w 4
touch 0x7e0000010000 0x1000 r
probe
`,
      'fork_cow.ops',
    );
    const m = new FakeMachine();
    const report = await runWorkload(w, m.stack(), { now: clock() });
    expect(report.failures).toEqual([]);
    expect(report.processes.map((p) => [p.name, p.exit, p.faults.total])).toEqual([
      ['vmtrace', 'exited 0', 4],
      ['child1', 'exited 0', 2],
    ]);
    expect(report.processes[0].signals).toEqual([
      {
        signal: 'SIGSEGV',
        code: 'SEGV_MAPERR',
        address: '0x7e0000010000',
        at: 'fork_cow.ops:4:1',
        expected: true,
      },
    ]);
  });
});

describe('replayWorkload', () => {
  it('boots a stack for the machine, runs, and closes it even when the run throws', async () => {
    const w = workload(`  - name: p
    ops:
      - ${MMAP}
`);
    const events: string[] = [];
    const factory = (fail: boolean) => async (machine: { cpus: number }) => {
      events.push(`boot ${machine.cpus}`);
      const base = new FakeMachine().stack();
      return {
        ...base,
        vma: fail
          ? { ...base.vma, syscalls: async () => Promise.reject(new Error('service down')) }
          : base.vma,
        close: async () => {
          events.push('close');
        },
      };
    };
    expect((await replayWorkload(w, factory(false), { now: clock() })).ok).toBe(true);
    await expect(replayWorkload(w, factory(true), { now: clock() })).rejects.toThrow('service down');
    expect(events).toEqual(['boot 2', 'close', 'boot 2', 'close']);
  });
});

describe('runWorkload with overlapping CPUs', () => {
  it('runs the slices of a round concurrently and still meets a well-formed workload', async () => {
    const w = workload(
      `  - name: a
    ops:
      - ${MMAP}
      - touch: { addr: $buf, length: 16K, kind: write, expect: { faults: 4 } }
  - name: b
    ops:
      - mmap: { addr: "0x7e0001000000", length: 16K, prot: rw-, flags: private|anonymous|fixed_noreplace }
      - touch: { addr: "0x7e0001000000", length: 16K, kind: write, expect: { faults: 4 } }
`,
      '{ cpus: 2, quantum: 3 }',
    );
    const report = await runWorkload(w, new FakeMachine().stack(), { now: clock(), overlapCpus: true });
    expect(report.failures).toEqual([]);
  });
});
