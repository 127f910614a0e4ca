import { bootMachine } from '@pagemesh/page-allocator';
import { Mmu, inprocPageAllocatorPort } from '@pagemesh/mmu';
import { inprocMmuPort, inprocPagesPort } from '../inproc-ports';
import * as M from '../mman';
import { VmaManager } from './process-table';
import { procStatField, STAT_FIELD } from './proc-stat';

const RW = M.PROT_READ | M.PROT_WRITE;
const ANON = M.MAP_PRIVATE | M.MAP_ANONYMOUS;
/** x86 error codes of user faults: not-present read, not-present write */
const READ = 0x4;
const WRITE = 0x6;

async function boot() {
  const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
  const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 1 });
  return VmaManager.create({ mmu: inprocMmuPort(mmu), pages: inprocPagesPort(pa) });
}

describe('/proc/PID/stat', () => {
  it('prints 52 fields, with the fault handler’s minflt, total_vm in bytes and rss in pages', async () => {
    const vm = await boot();
    const pid = await vm.createProcess('worker');
    const [r] = await vm.syscalls([
      { pid, call: { kind: 'mmap', addr: 0, length: 0x4000, prot: RW, flags: ANON } },
    ]);
    const base = (r as { ret: number }).ret;
    await vm.handleFaults([
      { pid, address: base, errorCode: READ },
      { pid, address: base + 0x1000, errorCode: WRITE },
      { pid, address: base + 0x2000, errorCode: WRITE },
    ]);
    const stat = await vm.procFile(pid, 'stat');
    expect(stat.endsWith('\n')).toBe(true);
    expect(stat.trimEnd().split(' ')).toHaveLength(52);
    expect(stat.startsWith(`${pid} (worker) R 0 `)).toBe(true);
    expect(procStatField(stat, STAT_FIELD.minflt)).toBe('3');
    expect(procStatField(stat, STAT_FIELD.majflt)).toBe('0');
    expect(procStatField(stat, STAT_FIELD.vsize)).toBe(String(0x4000));
    // the zero page read is not in RSS; the two written pages are
    expect(procStatField(stat, STAT_FIELD.rss)).toBe('2');
    expect(procStatField(stat, 38)).toBe('17'); // exit_signal SIGCHLD
  });

  it('counts a fork child’s faults apart from its parent’s, and names its parent', async () => {
    const vm = await boot();
    const parent = await vm.createProcess('parent');
    const [r] = await vm.syscalls([
      { pid: parent, call: { kind: 'mmap', addr: 0, length: 0x2000, prot: RW, flags: ANON } },
    ]);
    const base = (r as { ret: number }).ret;
    await vm.handleFaults([{ pid: parent, address: base, errorCode: WRITE }]);
    const child = await vm.fork(parent);
    await vm.handleFaults([
      { pid: child, address: base, errorCode: WRITE | 1 }, // copy-on-write
      { pid: child, address: base + 0x1000, errorCode: WRITE },
    ]);
    const stat = await vm.procFile(child, 'stat');
    expect(procStatField(stat, STAT_FIELD.ppid)).toBe(String(parent));
    expect(procStatField(stat, STAT_FIELD.minflt)).toBe('2');
    expect(procStatField(await vm.procFile(parent, 'stat'), STAT_FIELD.minflt)).toBe('1');
  });

  it('finds the fields after a comm holding spaces and parentheses', () => {
    const line = '7 (a) b (c)) R 1 0 0 0 -1 0 42 0 0\n';
    expect(procStatField(line, 1)).toBe('7');
    expect(procStatField(line, 2)).toBe('(a) b (c))');
    expect(procStatField(line, 3)).toBe('R');
    expect(procStatField(line, 10)).toBe('42');
    expect(() => procStatField(line, 40)).toThrow('no field 40');
    expect(() => procStatField('nonsense', 3)).toThrow('not a /proc/PID/stat line');
  });
});
