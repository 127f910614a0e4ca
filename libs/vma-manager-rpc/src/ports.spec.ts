import fc from 'fast-check';
import { Mmu, inprocPageAllocatorPort } from '@pagemesh/mmu';
import { bootMmuOverGrpc, mmuServiceOptions } from '@pagemesh/mmu-rpc';
import { bootMachine, type PageAllocator } from '@pagemesh/page-allocator';
import { pageAllocatorServiceOptions } from '@pagemesh/page-allocator-rpc';
import { MmuServiceClient, PageAllocatorServiceClient } from '@pagemesh/proto';
import { ClientPool, ephemeralServiceConfig, startService, type RunningService } from '@pagemesh/service-kit';
import {
  VmaManager,
  inprocMmuPort,
  inprocPagesPort,
  mman as M,
  type FaultRequest,
  type MmPorts,
  type Syscall,
} from '@pagemesh/vma-manager';
import { grpcMmuPort } from './mmu-port';
import { grpcPagesPort } from './page-allocator-port';

const A = 0x7e00_0000_0000;
const RW = M.PROT_READ | M.PROT_WRITE;

/** A page-allocator service and an mmu service booted against it, on ephemeral ports. */
async function lowerServices(pa: PageAllocator, pool: ClientPool): Promise<RunningService[]> {
  const pageAllocator = await startService(
    pageAllocatorServiceOptions(pa, ephemeralServiceConfig('page-allocator')),
  );
  const mmu = await bootMmuOverGrpc(pageAllocator.address, pool, { cpus: 1 });
  const mmuService = await startService(mmuServiceOptions(mmu, ephemeralServiceConfig('mmu')));
  return [pageAllocator, mmuService];
}

describe('the vma-manager ports over the real page-allocator and mmu services', () => {
  let pa: PageAllocator;
  let pool: ClientPool;
  let services: RunningService[];
  let vm: VmaManager;
  let ports: MmPorts;

  beforeAll(async () => {
    pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
    pool = new ClientPool();
    services = await lowerServices(pa, pool);
    ports = {
      mmu: grpcMmuPort(pool.client(services[1].address, MmuServiceClient)),
      pages: grpcPagesPort(pool.client(services[0].address, PageAllocatorServiceClient)),
    };
    vm = await VmaManager.create(ports);
  });

  afterAll(async () => {
    pool.close();
    for (const s of [...services].reverse()) await s.shutdown();
  });

  it('faults, forks copy-on-write, copies on write and gives every page back on exit', async () => {
    const free = pa.nrFreePages;
    const parent = await vm.createProcess('parent');
    await vm.syscalls([
      { pid: parent, call: { kind: 'mmap', addr: A, length: 0x3000, prot: RW, flags: 0x32 } },
    ]);
    expect(
      await vm.handleFaults([
        { pid: parent, address: A, errorCode: 0x6 },
        { pid: parent, address: A + 0x1000, errorCode: 0x4 },
      ]),
    ).toEqual(['handled', 'handled']);
    const [page] = await vm.task(parent).mm.pagemap(A, A + 0x1000);
    expect(page).toMatchObject({ present: true, writable: true, exclusive: true });
    const [zero] = await vm.task(parent).mm.pagemap(A + 0x1000, A + 0x2000);
    expect(zero).toMatchObject({ present: true, special: true, writable: false });

    const child = await vm.fork(parent);
    expect(pa.pageCount(page.pfn as number)).toBe(2);
    expect((await vm.task(parent).mm.pagemap(A, A + 0x1000))[0]).toMatchObject({ writable: false });
    expect(await vm.handleFaults([{ pid: child, address: A, errorCode: 0x7 }])).toEqual(['handled']);
    const [copy] = await vm.task(child).mm.pagemap(A, A + 0x1000);
    expect(copy.pfn).not.toBe(page.pfn);
    expect(copy.writable).toBe(true);
    expect(pa.pageCount(page.pfn as number)).toBe(1);

    await vm.syscalls([
      { pid: parent, call: { kind: 'mprotect', addr: A, length: 0x3000, prot: M.PROT_READ } },
    ]);
    expect(await vm.handleFaults([{ pid: parent, address: A, errorCode: 0x7 }])).toEqual(['sigsegv-accerr']);
    await vm.exitProcess(child);
    await vm.exitProcess(parent);
    expect(pa.nrFreePages).toBe(free);
    pa.checkInvariants();
  });

  it('carries user data through accesses, copy-on-write copies and shared memory', async () => {
    const free = pa.nrFreePages;
    const parent = await vm.createProcess('data');
    const S = A + 0x10000;
    expect(
      await vm.syscalls([
        { pid: parent, call: { kind: 'mmap', addr: A, length: 0x2000, prot: RW, flags: 0x32 } },
        { pid: parent, call: { kind: 'mmap', addr: S, length: 0x1000, prot: RW, flags: 0x31 } },
      ]),
    ).toEqual([{ ret: A }, { ret: S }]);
    const proc = vm.task(parent).mm;
    // a write through the CPU (StreamAccesses): faults handled and retried, the byte lands in RAM
    expect(await proc.access(A, 2, true, 0x5a)).toMatchObject({ done: 2, signal: null });
    expect(await proc.access(S, 1, true, 0x33)).toMatchObject({ done: 1, signal: null });
    const child = await vm.fork(parent);
    // the child's write copies the page (copy_user_highpage through TransferPhys) before writing
    const cproc = vm.task(child).mm;
    expect((await cproc.access(A, 2, false)).bytes).toEqual([0x5a, 0x5a]);
    expect(await cproc.access(A, 1, true, 0x77)).toMatchObject({ signal: null });
    expect((await cproc.access(A, 2, false)).bytes).toEqual([0x77, 0x5a]);
    expect((await proc.access(A, 1, false)).bytes).toEqual([0x5a]);
    // shared memory: one page, seen and written by both
    expect(await cproc.access(S, 1, true, 0x44)).toMatchObject({ signal: null });
    expect((await proc.access(S, 1, false)).bytes).toEqual([0x44]);
    const smaps = await vm.procFile(parent, 'smaps');
    expect(smaps).toContain('/dev/zero (deleted)');
    expect(smaps).toMatch(/Shared_Dirty: +4 kB/);
    // exit switches the CPU away from each address space before destroying it
    await vm.exitProcess(child);
    await vm.exitProcess(parent);
    expect(pa.nrFreePages).toBe(free);
    pa.checkInvariants();
  });

  it('maps, splits, copies and zaps transparent huge pages as the in-process ports do', async () => {
    const localPa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
    const localMmu = await Mmu.boot(inprocPageAllocatorPort(localPa), { cpus: 1 });
    const local = await VmaManager.create({ mmu: inprocMmuPort(localMmu), pages: inprocPagesPort(localPa) });
    const free = pa.nrFreePages;
    const H = 2 * 2 ** 20;
    const run = async (m: VmaManager) => {
      const pid = await m.createProcess('thp');
      await m.syscalls([
        { pid, call: { kind: 'mmap', addr: A, length: 2 * H, prot: RW, flags: 0x100022 } },
        { pid, call: { kind: 'madvise', addr: A, length: 2 * H, advice: M.MADV_HUGEPAGE } },
      ]);
      const proc = m.task(pid).mm;
      await proc.access(A, 1, false); // the huge zero folio
      await proc.access(A, 1, true, 0x11); // a THP in its place
      await proc.access(A + H, 1, true, 0x22);
      const child = await m.fork(pid);
      await m.task(child).mm.access(A + 0x1000, 1, true, 0x33); // split and copy one page
      const views = [];
      for (const p of [pid, child]) {
        const pages = await m.task(p).mm.pagemap(A, A + 2 * H);
        views.push({
          smaps: (await m.procFile(p, 'smaps')).match(
            /^(Rss|AnonHugePages|Shared_Dirty|Private_Dirty):.*$/gm,
          ),
          present: pages.filter((e) => e.present).length,
          exclusive: pages.filter((e) => e.exclusive).length,
          minflt: m.task(p).mm.minflt,
        });
      }
      await m.syscalls([{ pid, call: { kind: 'munmap', addr: A + 0x3000, length: 0x1000 } }]);
      views.push((await m.procFile(pid, 'smaps')).match(/^AnonHugePages:.*$/gm));
      await m.exitProcess(child);
      await m.exitProcess(pid);
      return views;
    };
    const [remote, inproc] = [await run(vm), await run(local)];
    expect(remote).toEqual(inproc);
    expect(remote[0]).toMatchObject({ present: 1024, minflt: 3 });
    expect(remote[1]).toMatchObject({ present: 1024, exclusive: 1 });
    // the munmap split the VMA and the first huge PMD; the second stays huge
    expect(remote[2]).toEqual(['AnonHugePages:         0 kB', 'AnonHugePages:      2048 kB']);
    // every page and table back but the huge zero folio, kept as ZERO_PAGE is
    expect(pa.nrFreePages).toBe(free - 512);
    pa.checkInvariants();
  });

  it('gives the same answers as the in-process ports for random syscalls, faults, forks and exits', async () => {
    const addr = fc.integer({ min: 0, max: 15 }).map((p) => A + p * 4096);
    const len = fc.integer({ min: 1, max: 6 }).map((n) => n * 4096);
    const prot = fc.constantFrom(M.PROT_NONE, M.PROT_READ, RW);
    const call: fc.Arbitrary<Syscall> = fc.oneof(
      fc.record({
        kind: fc.constant('mmap' as const),
        addr,
        length: len,
        prot,
        flags: fc.constantFrom(0x32, 0x31, 0x8032),
      }),
      fc.record({ kind: fc.constant('munmap' as const), addr, length: len }),
      fc.record({ kind: fc.constant('mprotect' as const), addr, length: len, prot }),
      fc.record({
        kind: fc.constant('madvise' as const),
        addr,
        length: len,
        advice: fc.constantFrom(M.MADV_DONTNEED, M.MADV_WIPEONFORK),
      }),
      fc.record({
        kind: fc.constant('mremap' as const),
        oldAddr: addr,
        oldLength: len,
        newLength: len,
        flags: fc.constantFrom(0, M.MREMAP_MAYMOVE | M.MREMAP_FIXED),
        newAddr: addr,
      }),
    );
    const fault = fc.record({
      page: fc.integer({ min: 0, max: 17 }),
      errorCode: fc.constantFrom(0x4, 0x6, 0x7),
    });
    /** `who` picks among the live processes (modulo their number) */
    const who = fc.nat({ max: 3 });
    const step = fc.oneof(
      { weight: 3, arbitrary: fc.record({ who, calls: fc.array(call, { minLength: 1, maxLength: 3 }) }) },
      { weight: 3, arbitrary: fc.record({ who, faults: fc.array(fault, { minLength: 1, maxLength: 4 }) }) },
      { weight: 1, arbitrary: fc.record({ who, fork: fc.constant(true) }) },
      { weight: 1, arbitrary: fc.record({ who, exit: fc.constant(true) }) },
    );
    const free = pa.nrFreePages;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const localPa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
        const localMmu = await Mmu.boot(inprocPageAllocatorPort(localPa), { cpus: 1 });
        const local = await VmaManager.create({
          mmu: inprocMmuPort(localMmu),
          pages: inprocPagesPort(localPa),
        });
        // a fresh table (and machine: inode numbers) each run, over the same ports and zero page
        const both = [local, await VmaManager.create(ports)];
        try {
          for (const s of steps) {
            const answers = await Promise.all(
              both.map(async (m) => {
                const live = m.processes();
                if (live.length === 0) return m.createProcess('diff');
                const pid = live[s.who % live.length].pid;
                if ('calls' in s) return m.syscalls(s.calls.map((c) => ({ pid, call: c })));
                if ('faults' in s)
                  return m.handleFaults(
                    s.faults.map((f): FaultRequest => ({
                      pid,
                      address: A + f.page * 4096,
                      errorCode: f.errorCode,
                    })),
                  );
                if ('fork' in s) return live.length < 4 ? m.fork(pid) : null;
                return m.exitProcess(pid);
              }),
            );
            expect(answers[1]).toEqual(answers[0]);
            for (const t of both[0].processes()) {
              const maps = await Promise.all(both.map((m) => m.procFile(t.pid, 'maps')));
              expect(maps[1]).toBe(maps[0]);
              const residency = await Promise.all(
                both.map(async (m) =>
                  (await m.task(t.pid).mm.pagemap(A, A + 18 * 4096)).map((e) => [
                    e.present,
                    e.special,
                    e.writable,
                    e.exclusive,
                    e.dirty,
                  ]),
                ),
              );
              expect(residency[1]).toEqual(residency[0]);
            }
          }
        } finally {
          // a failed step must not leave processes behind for the next run
          for (const m of both) for (const t of m.processes()) await m.exitProcess(t.pid);
        }
        expect(pa.nrFreePages).toBe(free);
      }),
      { numRuns: 30 },
    );
    // 30 runs over gRPC take a few seconds, more on a loaded machine
  }, 60_000);
});
