import { readdirSync, readFileSync } from 'node:fs';
import { WorkloadError } from './errors';
import { loadOpsText } from './load-ops';

const FORK_COW = `# After fork the private pages are shared
mmap 0x7e0000000000 0x4000 rw- private|anonymous|fixed_noreplace
touch 0x7e0000000000 0x4000 w 3
fork-touch 0x7e0000000000 0x2000 w 4
set maps off
probe
`;

function problemsOf(text: string): string[] {
  try {
    loadOpsText(text, 'c.ops');
  } catch (e) {
    if (e instanceof WorkloadError) return e.message.split('\n');
    throw e;
  }
  throw new Error('loaded without a problem');
}

describe('loadOpsText', () => {
  it('turns a script into one process whose syscalls may fail and whose touches may be signalled', () => {
    const w = loadOpsText(FORK_COW, 'cases/fork_cow_private.ops');
    expect(w.name).toBe('fork_cow_private');
    expect(w.processes).toHaveLength(1);
    const ops = w.processes[0].ops;
    expect(ops[0]).toMatchObject({
      op: 'mmap',
      at: 'cases/fork_cow_private.ops:2:1',
      addr: 0x7e0000000000,
      length: 0x4000,
      prot: 3,
      flags: 0x100022,
      fd: null,
      expect: { errno: '*' },
    });
    expect(ops[1]).toMatchObject({
      op: 'touch',
      kind: 'write',
      value: 3,
      stride: 4096,
      expect: { signal: '*' },
    });
  });

  it('runs fork-touch as a child that touches and looks while the parent looks, then is waited for', () => {
    const ops = loadOpsText(FORK_COW, 'c.ops').processes[0].ops;
    expect(ops.slice(2).map((o) => o.op)).toEqual(['fork', 'await', 'proc', 'post', 'wait', 'proc']);
    const fork = ops[2];
    if (fork.op !== 'fork') throw new Error('not a fork');
    expect(fork.child.name).toBe('child1');
    expect(fork.child.ops.map((o) => o.op)).toEqual(['touch', 'proc', 'post', 'await']);
    expect(fork.child.ops[0]).toMatchObject({ length: 0x2000, kind: 'write', value: 4 });
  });

  it('puts the lines of a fork-begin block into a child and waits for it at fork-end', () => {
    const w = loadOpsText(
      'fork-begin\nmmap 0x7e0000000000 4096 rw- private|anon|fixed\nfork-end\ndump\n',
      'c.ops',
    );
    const ops = w.processes[0].ops;
    expect(ops.map((o) => o.op)).toEqual(['fork', 'wait', 'proc']);
    if (ops[0].op !== 'fork') throw new Error('not a fork');
    expect(ops[0].child.ops).toMatchObject([{ op: 'mmap', flags: 0x32 }]);
  });

  it('maps files, mremap flags and madvise advice', () => {
    const w = loadOpsText(
      'file f 0x8000 ro\nmmap 0x7e0000000000 0x8000 r-- private f 0x1000\nmremap 0x7e0000000000 0x1000 0x2000 maymove|fixed 0x7e0000100000\nmadvise 0x7e0000000000 0x1000 DONTNEED\ntruncate f 0\n',
      'c.ops',
    );
    expect(w.processes[0].ops).toMatchObject([
      { op: 'file', name: 'f', size: 0x8000, readOnly: true },
      { op: 'mmap', fd: 'f', offset: 0x1000, flags: 2, prot: 1 },
      { op: 'mremap', oldLength: 0x1000, newLength: 0x2000, flags: 3, newAddr: 0x7e0000100000 },
      { op: 'madvise', advice: 4 },
      { op: 'truncate', name: 'f', size: 0 },
    ]);
  });

  it('keeps huge lengths used to test wrap-around', () => {
    const w = loadOpsText('munmap 0x7e0000000000 0xfffffffffffff000\n', 'c.ops');
    expect(w.processes[0].ops[0]).toMatchObject({ length: 2n ** 64n - 4096n });
  });

  it('names the line, column and argument that is wrong', () => {
    expect(problemsOf('mmap 0x7e0000000000 0x4000 rw- private|anonymous|fixd\n')).toEqual([
      'c.ops:1:32: mmap.FLAGS: unknown mmap flag "fixd" (known: private, shared, shared_validate, anonymous, anon, fixed, fixed_noreplace, noreserve, populate, growsdown, stack, locked, nonblock, droppable, uninitialized)',
    ]);
    expect(problemsOf('\n  touch 0x7e0000000000 4K w\n')).toEqual([
      'c.ops:2:24: touch.LEN: "4K" is not a number (0x hex or decimal)',
    ]);
    expect(problemsOf('mprotect 0x7e0000000000 0x1000\n')).toEqual(['c.ops:1:1: mprotect: missing PROT']);
    expect(problemsOf('frobnicate 1 2\n')).toEqual([
      'c.ops:1:1: frobnicate: unknown operation "frobnicate" (see the oracle README for the list)',
    ]);
    expect(problemsOf('fork-begin\ntouch 0x7e0000000000 0x1000 r\n')).toEqual([
      'c.ops:1:1: fork-begin: fork-begin without fork-end',
    ]);
  });

  const oracle = '/work/shared/oracle/cases';
  const cases = (() => {
    try {
      return readdirSync(oracle).filter((f) => f.endsWith('.ops'));
    } catch {
      return [];
    }
  })();
  (cases.length > 0 ? it : it.skip)('loads every public oracle case', () => {
    for (const c of cases) {
      const w = loadOpsText(readFileSync(`${oracle}/${c}`, 'utf8'), c);
      expect(w.processes[0].ops.length).toBeGreaterThan(0);
    }
  });
});
