import { bootMachine, type PageAllocator } from '@pagemesh/page-allocator';
import { Mmu, inprocPageAllocatorPort } from '@pagemesh/mmu';
import { inprocMmuPort, inprocPagesPort } from '../inproc-ports';
import * as M from '../mman';
import { checkMmInvariants } from '../vma-invariants';
import { VmaManager } from './process-table';
import { TASK_COMM_LEN, SIGCHLD } from './task';

const A = 0x7e00_0000_0000;
const RW = M.PROT_READ | M.PROT_WRITE;
const ANON = M.MAP_PRIVATE | M.MAP_ANONYMOUS;
const SHARED = M.MAP_SHARED | M.MAP_ANONYMOUS;
/** x86 error codes of user faults: not-present read, not-present write, write to a present page */
const READ = 0x4;
const WRITE = 0x6;
const WRITE_PROT = 0x7;

/** A process table over a real (small) page allocator and mmu, in process. */
async function boot() {
  const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
  const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 1 });
  const vm = await VmaManager.create({ mmu: inprocMmuPort(mmu), pages: inprocPagesPort(pa) });
  return { pa, mmu, vm };
}

async function pfnAt(vm: VmaManager, pid: number, va: number) {
  const [e] = await vm.task(pid).mm.pagemap(va, va + 4096);
  return e;
}

function refs(pa: PageAllocator, pfn: number) {
  return { count: pa.pageCount(pfn), mapcount: pa.pageMapcount(pfn) };
}

describe('VmaManager (process table) over the real mmu and page allocator', () => {
  it('numbers processes from 1 and keeps comm as the kernel does (15 bytes)', async () => {
    const { vm } = await boot();
    expect(await vm.createProcess('cat')).toBe(1);
    expect(await vm.createProcess('a-rather-long-command-name')).toBe(2);
    expect(vm.task(2).comm).toBe('a-rather-long-c');
    expect(vm.task(2).commBytes.length).toBe(TASK_COMM_LEN - 1);
    // bytes, not characters: 'é' is two bytes and the 15th byte cuts one
    expect(vm.task(await vm.createProcess('ééééééééé')).commBytes.length).toBe(15);
    expect(vm.task(await vm.createProcess('nul\0after')).comm).toBe('nul');
    expect(vm.processes().map((t) => t.pid)).toEqual([1, 2, 3, 4]);
  });

  it('create, mmap, fault, exit: every page and page-table page goes back', async () => {
    const { pa, mmu, vm } = await boot();
    const free = pa.nrFreePages;
    const pid = await vm.createProcess('worker');
    const [r] = await vm.syscalls([
      { pid, call: { kind: 'mmap', addr: 0, length: 0x4000, prot: RW, flags: ANON } },
    ]);
    expect(r).toHaveProperty('ret');
    const base = (r as { ret: number }).ret;
    expect(
      await vm.handleFaults([
        { pid, address: base, errorCode: READ },
        { pid, address: base + 0x1000, errorCode: WRITE },
        { pid, address: base, errorCode: WRITE_PROT },
        { pid, address: base + 0x3123, errorCode: WRITE },
      ]),
    ).toEqual(['handled', 'handled', 'handled', 'handled']);
    expect(vm.task(pid).minflt).toBe(4);
    expect(vm.task(pid).mm.mm.rss.anon).toBe(3);
    expect(pa.nrFreePages).toBeLessThan(free);
    const status = await vm.procFile(pid, 'status');
    expect(status).toMatch(/^Name:\tworker\nState:\tR \(running\)\nTgid:\t1\n/);
    expect(status).toContain('RssAnon:\t      12 kB\n');
    await vm.exitProcess(pid);
    expect(pa.nrFreePages).toBe(free);
    expect(vm.task(pid).state).toBe('exited');
    pa.checkInvariants();
    mmu.checkInvariants();
  });

  it('reports SIGSEGV with MAPERR or ACCERR, and SIGBUS, as do_user_addr_fault would', async () => {
    const { vm } = await boot();
    const pid = await vm.createProcess('segv');
    const results = await vm.syscalls([
      { pid, call: { kind: 'mmap', addr: A, length: 0x1000, prot: M.PROT_READ, flags: ANON | M.MAP_FIXED } },
      {
        pid,
        call: {
          kind: 'mmap',
          addr: A + 0x2000,
          length: 0x1000,
          prot: M.PROT_NONE,
          flags: ANON | M.MAP_FIXED,
        },
      },
      { pid, call: { kind: 'mmap', addr: A + 0x4000, length: 0x1000, prot: RW, flags: ANON | M.MAP_FIXED } },
      {
        pid,
        call: { kind: 'mmap', addr: A + 0x6000, length: 0x1000, prot: RW, flags: SHARED | M.MAP_FIXED },
      },
      // the VMA grows, its shmem object (one page) does not
      { pid, call: { kind: 'mremap', oldAddr: A + 0x6000, oldLength: 0x1000, newLength: 0x2000, flags: 0 } },
    ]);
    expect(results).toEqual([
      { ret: A },
      { ret: A + 0x2000 },
      { ret: A + 0x4000 },
      { ret: A + 0x6000 },
      { ret: A + 0x6000 },
    ]);
    expect(
      await vm.handleFaults([
        { pid, address: A + 0x1000, errorCode: READ }, // a hole
        { pid, address: A, errorCode: WRITE }, // write to r--
        { pid, address: A + 0x2000, errorCode: READ }, // PROT_NONE
        { pid, address: A, errorCode: READ }, // fine: the zero page
        { pid, address: A, errorCode: 0x5 }, // read of a present page the PTE forbids
        { pid, address: A + 0x4000, errorCode: 0x14 }, // fetch: serviced (NX comes on the retry)
        { pid, address: A + 0x4000, errorCode: 0x15 }, // fetch of the present NX page
        { pid, address: 0x7fff_ffff_f000, errorCode: READ }, // above the last VMA
        { pid, address: A + 0x6000, errorCode: WRITE }, // the object's page
        { pid, address: A + 0x7000, errorCode: WRITE }, // past the object's end
      ]),
    ).toEqual([
      'sigsegv-maperr',
      'sigsegv-accerr',
      'sigsegv-accerr',
      'handled',
      'sigsegv-accerr',
      'handled',
      'sigsegv-accerr',
      'sigsegv-maperr',
      'handled',
      'sigbus',
    ]);
  });

  it('fork shares private pages copy-on-write with refcounts, and both exits give everything back', async () => {
    const { pa, vm } = await boot();
    const free = pa.nrFreePages;
    const parent = await vm.createProcess('parent');
    await vm.syscalls([
      { pid: parent, call: { kind: 'mmap', addr: A, length: 0x2000, prot: RW, flags: ANON | M.MAP_FIXED } },
    ]);
    await vm.handleFaults([{ pid: parent, address: A, errorCode: WRITE }]);
    const page = (await pfnAt(vm, parent, A)).pfn as number;
    expect(refs(pa, page)).toEqual({ count: 1, mapcount: 1 });

    const child = await vm.fork(parent);
    expect(child).toBe(parent + 1);
    expect(vm.task(child)).toMatchObject({ ppid: parent, exitSignal: SIGCHLD, comm: 'parent' });
    expect(refs(pa, page)).toEqual({ count: 2, mapcount: 2 });
    expect(await pfnAt(vm, child, A)).toMatchObject({ pfn: page, writable: false, exclusive: false });
    expect(await pfnAt(vm, parent, A)).toMatchObject({ pfn: page, writable: false });
    expect(await vm.procFile(child, 'maps')).toBe(await vm.procFile(parent, 'maps'));
    expect(await vm.procFile(parent, 'smaps')).toContain('Shared_Dirty:          4 kB\n');

    // The child writes: it gets a copy; the parent's page is mapped once again.
    expect(await vm.handleFaults([{ pid: child, address: A, errorCode: WRITE_PROT }])).toEqual(['handled']);
    const copy = (await pfnAt(vm, child, A)).pfn as number;
    expect(copy).not.toBe(page);
    expect(refs(pa, page)).toEqual({ count: 1, mapcount: 1 });
    expect(refs(pa, copy)).toEqual({ count: 1, mapcount: 1 });
    // The parent's next write reuses its page (refcount 1): no copy.
    await vm.handleFaults([{ pid: parent, address: A, errorCode: WRITE_PROT }]);
    expect(await pfnAt(vm, parent, A)).toMatchObject({ pfn: page, writable: true, exclusive: true });

    await vm.exitProcess(parent);
    await vm.exitProcess(child);
    expect(pa.nrFreePages).toBe(free);
    pa.checkInvariants();
  });

  it('frees shared anonymous memory when the last process mapping it goes, not before', async () => {
    const { pa, vm } = await boot();
    const free = pa.nrFreePages;
    const parent = await vm.createProcess('shm');
    await vm.syscalls([
      { pid: parent, call: { kind: 'mmap', addr: A, length: 0x2000, prot: RW, flags: SHARED | M.MAP_FIXED } },
    ]);
    await vm.handleFaults([{ pid: parent, address: A, errorCode: WRITE }]);
    const child = await vm.fork(parent);
    await vm.exitProcess(parent);
    expect(vm.shmemObjects).toBe(1);
    // the child still sees the parent's page (shared mappings refault from the object)
    expect(await vm.handleFaults([{ pid: child, address: A, errorCode: READ }])).toEqual(['handled']);
    expect((await pfnAt(vm, child, A)).present).toBe(true);
    await vm.syscalls([{ pid: child, call: { kind: 'munmap', addr: A, length: 0x2000 } }]);
    expect(vm.shmemObjects).toBe(0);
    await vm.exitProcess(child);
    expect(pa.nrFreePages).toBe(free);
    pa.checkInvariants();
  });

  it('answers syscalls in order with the errnos of the VMA model', async () => {
    const { vm } = await boot();
    const pid = await vm.createProcess('errnos');
    const results = await vm.syscalls([
      { pid, call: { kind: 'mmap', addr: A, length: 0, prot: RW, flags: ANON } },
      { pid, call: { kind: 'mmap', addr: A, length: 0x3000, prot: RW, flags: ANON | M.MAP_FIXED } },
      { pid, call: { kind: 'mmap', addr: A, length: 0x1000, prot: RW, flags: ANON | M.MAP_FIXED_NOREPLACE } },
      { pid, call: { kind: 'mprotect', addr: A + 0x1000, length: 0x1000, prot: M.PROT_READ } },
      { pid, call: { kind: 'mlock', addr: A, length: 0x1000 } },
      { pid, call: { kind: 'munlock', addr: A, length: 0x1000 } },
      { pid, call: { kind: 'madvise', addr: A, length: 0x1000, advice: M.MADV_DONTNEED } },
      { pid, call: { kind: 'mremap', oldAddr: A + 0x2000, oldLength: 0x1000, newLength: 0x2000, flags: 0 } },
      { pid, call: { kind: 'mseal', addr: A + 0x1000, length: 0x1000 } },
      { pid, call: { kind: 'munmap', addr: A + 0x1000, length: 0x1000 } },
      { pid, call: { kind: 'mmap', addr: 0, length: 0x1000, prot: RW, flags: M.MAP_PRIVATE, fd: 3 } },
    ]);
    expect(results).toEqual([
      { errno: 'EINVAL' },
      { ret: A },
      { errno: 'EEXIST' },
      { ret: 0 },
      { ret: 0 },
      { ret: 0 },
      { ret: 0 },
      { ret: A + 0x2000 },
      { ret: 0 },
      { errno: 'EPERM' },
      { errno: 'EBADF' },
    ]);
    expect(checkMmInvariants(vm.task(pid).mm.mm)).toBeNull();
    expect(await vm.procFile(pid, 'maps')).toBe(
      '7e0000000000-7e0000001000 rw-p 00000000 00:00 0 \n' +
        '7e0000001000-7e0000002000 r--p 00000000 00:00 0 \n' +
        '7e0000002000-7e0000004000 rw-p 00000000 00:00 0 \n',
    );
  });

  it('refuses unknown and exited pids and malformed requests without changing anything', async () => {
    const { pa, vm } = await boot();
    const pid = await vm.createProcess('p');
    await vm.syscalls([
      { pid, call: { kind: 'mmap', addr: A, length: 0x1000, prot: RW, flags: ANON | M.MAP_FIXED } },
    ]);
    const maps = await vm.procFile(pid, 'maps');
    const free = pa.nrFreePages;
    const mmapAt = (addr: number) => ({
      kind: 'mmap' as const,
      addr,
      length: 0x1000,
      prot: RW,
      flags: ANON | M.MAP_FIXED,
    });

    await expect(
      vm.syscalls([
        { pid, call: mmapAt(A + 0x10000) },
        { pid: 99, call: mmapAt(A) },
      ]),
    ).rejects.toMatchObject({
      kind: 'not-found',
      field: 'calls[1].pid',
      value: 99,
    });
    await expect(vm.syscalls([{ pid, call: { ...mmapAt(A + 0x10000), length: -1 } }])).rejects.toMatchObject({
      kind: 'invalid-argument',
      field: 'calls[0].length',
    });
    await expect(
      vm.syscalls([
        { pid, call: { kind: 'madvise', addr: A, length: 0x1000, advice: M.MADV_GUARD_INSTALL } },
      ]),
    ).rejects.toMatchObject({ kind: 'failed-precondition', field: 'calls[0].advice' });
    await expect(
      vm.handleFaults([
        { pid, address: A, errorCode: WRITE },
        { pid, address: A, errorCode: 0x8 },
      ]),
    ).rejects.toMatchObject({ kind: 'invalid-argument', field: 'faults[1].error_code', value: 8 });
    await expect(vm.handleFaults([{ pid, address: 2 ** 48, errorCode: READ }])).rejects.toMatchObject({
      kind: 'invalid-argument',
      field: 'faults[0].address',
    });
    await expect(vm.procFile(pid, 'environ' as never)).rejects.toMatchObject({
      kind: 'invalid-argument',
      field: 'file',
    });
    await expect(vm.fork(7)).rejects.toMatchObject({ kind: 'not-found', field: 'pid', value: 7 });
    expect(await vm.procFile(pid, 'maps')).toBe(maps);
    expect(pa.nrFreePages).toBe(free);
    expect(vm.task(pid).minflt).toBe(0);

    await vm.exitProcess(pid);
    for (const refused of [
      vm.exitProcess(pid),
      vm.fork(pid),
      vm.procFile(pid, 'status'),
      vm.syscalls([{ pid, call: mmapAt(A) }]),
      vm.handleFaults([{ pid, address: A, errorCode: READ }]),
    ]) {
      await expect(refused).rejects.toMatchObject({ kind: 'failed-precondition', value: pid });
    }
    expect(vm.processes()).toEqual([]);
  });

  it('runs concurrent requests one at a time', async () => {
    const { pa, vm } = await boot();
    const free = pa.nrFreePages;
    const pids = await Promise.all([vm.createProcess('a'), vm.createProcess('b'), vm.createProcess('c')]);
    expect(pids).toEqual([1, 2, 3]);
    await Promise.all(
      pids.map(async (pid) => {
        await vm.syscalls([
          { pid, call: { kind: 'mmap', addr: A, length: 0x8000, prot: RW, flags: ANON | M.MAP_FIXED } },
        ]);
        await vm.handleFaults(
          Array.from({ length: 8 }, (_, i) => ({ pid, address: A + i * 0x1000, errorCode: WRITE })),
        );
        await vm.exitProcess(pid);
      }),
    );
    expect(pa.nrFreePages).toBe(free);
  });
});
