import {
  DeviceDrivers,
  INIT_PATTERN,
  MMAP_DEV,
  NPAGES,
  PROC_ENTRY_NAME,
  WRITE_PATTERN,
  applyRemapRequests,
} from '@pagemesh/device-drivers';
import { deviceDriversServiceOptions, grpcDriverPorts } from '@pagemesh/device-drivers-rpc';
import { PROT_X86_64 } from '@pagemesh/mmu';
import { bootMmuOverGrpc, mmuServiceOptions } from '@pagemesh/mmu-rpc';
import { bootMachine } from '@pagemesh/page-allocator';
import { pageAllocatorServiceOptions } from '@pagemesh/page-allocator-rpc';
import { DeviceDriversServiceClient, MmuServiceClient, PageAllocatorServiceClient } from '@pagemesh/proto';
import { ClientPool, ephemeralServiceConfig, startService, type RunningService } from '@pagemesh/service-kit';
import { VmaManager, mman as M, vmFlags as V, type MmPorts } from '@pagemesh/vma-manager';
import { grpcDeviceFilesPort, grpcRemapMmuPort } from './device-files-port';
import { grpcMmuPort } from './mmu-port';
import { grpcPagesPort } from './page-allocator-port';

const PAGE = 4096;
const O_RDWR = 2;
/** x86 error code of a user read of a not-present page */
const READ_FAULT = 0x4;
const MY_MAJOR = 42;

/**
 * The layers below the vma-manager as services on ephemeral ports: the page allocator, the mmu
 * booted against it, the device drivers over both (grpcDriverPorts); and a process table whose
 * ports are all gRPC clients, the device files' included. The domain objects stay reachable for
 * checks a process could not make (struct page counts, open files).
 */
async function boot() {
  const pool = new ClientPool();
  const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
  const services: RunningService[] = [];
  services.push(
    await startService(pageAllocatorServiceOptions(pa, ephemeralServiceConfig('page-allocator'))),
  );
  const paClient = pool.client(services[0].address, PageAllocatorServiceClient);
  const mmu = await bootMmuOverGrpc(services[0].address, pool, { cpus: 1 });
  services.push(await startService(mmuServiceOptions(mmu, ephemeralServiceConfig('mmu'))));
  const mmuClient = pool.client(services[1].address, MmuServiceClient);
  const dd = await DeviceDrivers.create(grpcDriverPorts(paClient, mmuClient));
  services.push(
    await startService(deviceDriversServiceOptions(dd, ephemeralServiceConfig('device-drivers'))),
  );
  const ddClient = pool.client(services[2].address, DeviceDriversServiceClient);
  const ports: MmPorts = {
    mmu: grpcMmuPort(mmuClient),
    pages: grpcPagesPort(paClient),
    files: grpcDeviceFilesPort(ddClient, mmuClient),
  };
  const vm = await VmaManager.create(ports);
  const stop = async () => {
    pool.close();
    for (const s of services.splice(0).reverse()) await s.shutdown();
  };
  return { pa, mmu, dd, vm, ports, mmuClient, stop, [Symbol.asyncDispose]: stop };
}

type Booted = Awaited<ReturnType<typeof boot>>;

/** insmod, mknod /dev/mymmap c 42 0, and open it O_RDWR in a new process `mmap-test`. */
async function openDev(m: Booted, module: string, params: Record<string, string> = {}) {
  expect(await m.dd.loadModule(module, params)).toEqual({ errno: null });
  expect(await m.dd.mknod(MMAP_DEV, MY_MAJOR, 0)).toEqual({ errno: null });
  const pid = await m.vm.createProcess('mmap-test');
  const r = await m.vm.open(pid, MMAP_DEV, O_RDWR);
  if (!('ret' in r)) throw new Error(`open: ${r.errno}`);
  return { pid, fd: r.ret };
}

async function mmap(
  m: Booted,
  pid: number,
  fd: number,
  length: number,
  prot = M.PROT_READ,
  flags = M.MAP_SHARED,
) {
  const [r] = await m.vm.syscalls([{ pid, call: { kind: 'mmap', addr: 0, length, prot, flags, fd } }]);
  return r;
}

/** Bytes 0..3 of each of `pages` pages from `va`, as the process reads them (4 user reads a page). */
async function pageHeads(m: Booted, pid: number, va: number, pages: number): Promise<string[]> {
  const accesses = Array.from({ length: pages * 4 }, (_, i) => ({
    va: va + Math.floor(i / 4) * PAGE + (i % 4),
    write: false,
  }));
  const out = await m.ports.mmu.access(m.vm.task(pid).mm.asid, accesses);
  const hex = out.map((o) => (o.kind === 'ok' && o.data ? o.data[0].toString(16).padStart(2, '0') : o.kind));
  return Array.from({ length: pages }, (_, p) => hex.slice(p * 4, p * 4 + 4).join(''));
}

const procNumber = (r: { text: string } | { errno: string }): number => {
  if (!('text' in r)) throw new Error(`proc entry: ${r.errno}`);
  return parseInt(r.text, 10);
};

describe('grpcDeviceFilesPort: device files over the device-drivers and mmu services', () => {
  jest.setTimeout(60_000);

  it.each(['kmmap', 'vmmap'])(
    '%s: the lab checks (kernel-semantics.md §1.7) through the services',
    async (module) => {
      await using m = await boot();
      const free = m.pa.nrFreePages;
      const tables = m.mmu.tablePages();
      const { pid, fd } = await openDev(m, module);

      // 16 pages MAP_SHARED PROT_READ: r--s, offset 0, devtmpfs 00:05, the node's inode and path
      const r = await mmap(m, pid, fd, NPAGES * PAGE);
      if (!('ret' in r)) throw new Error(`mmap: ${r.errno}`);
      const dev = r.ret;
      const line = /^[0-9a-f]+-[0-9a-f]+ r--s 00000000 00:05 1000 +\/dev\/mymmap\n$/;
      expect(await m.vm.procFile(pid, 'maps')).toMatch(line);
      const vma = m.vm.task(pid).mm.mm.vmas.lookup(dev);
      // the flags remap_pfn_range answered over the wire
      const remapFlags = V.VM_IO | V.VM_PFNMAP | V.VM_DONTEXPAND | V.VM_DONTDUMP;
      expect((vma?.vmFlags ?? 0) & remapFlags).toBe(remapFlags);

      // mmap-test 1: aa bb cc dd on every page; special PTEs: struct pages and RSS untouched
      const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
      expect(await pageHeads(m, pid, dev, NPAGES)).toEqual(Array(NPAGES).fill(hex(INIT_PATTERN)));
      const mem = await m.dd.driverMemory(module);
      const pfns = mem?.pfns ?? [];
      expect(pfns).toHaveLength(NPAGES);
      expect(pfns.map((p) => [m.pa.pageCount(p), m.pa.pageMapcount(p)])).toEqual(Array(NPAGES).fill([1, 0]));
      expect(await m.vm.procFile(pid, 'status')).toMatch(/^VmRSS:\s+0 kB$/m);

      // 17 pages: the driver's -EIO, no second VMA
      expect(await mmap(m, pid, fd, (NPAGES + 1) * PAGE)).toEqual({ errno: 'EIO' });
      expect(await m.vm.procFile(pid, 'maps')).toMatch(line);

      // mmap-test 2: write() of 16 pages shows through the mapping; read() gives it back
      const data = new Uint8Array(NPAGES * PAGE);
      for (let p = 0; p < NPAGES; p++) data.set(WRITE_PATTERN, p * PAGE);
      expect(await m.vm.write(pid, fd, data)).toEqual({ ret: NPAGES * PAGE });
      expect(await pageHeads(m, pid, dev, NPAGES)).toEqual(Array(NPAGES).fill(hex(WRITE_PATTERN)));
      const back = await m.vm.read(pid, fd, NPAGES * PAGE);
      if (!('ret' in back)) throw new Error(`read: ${back.errno}`);
      expect(back.ret).toBe(NPAGES * PAGE);
      // the lab's read and write never move f_pos: read gives back what write put
      expect(Buffer.from(back.data).equals(Buffer.from(data))).toBe(true);

      // mmap-test 3: the proc entry sums the caller's VMAs; a 10 MiB anonymous mapping reads as 10
      const before = procNumber(await m.vm.procEntry(pid, PROC_ENTRY_NAME));
      const anon = await mmap(m, pid, -1, 10 * 2 ** 20, M.PROT_READ, M.MAP_PRIVATE | M.MAP_ANONYMOUS);
      if (!('ret' in anon)) throw new Error(`mmap: ${anon.errno}`);
      const after = procNumber(await m.vm.procEntry(pid, PROC_ENTRY_NAME));
      expect((after - before) >> 20).toBe(10);
      expect(before).toBe(NPAGES * PAGE);

      // the open file and the mapping pin the module; close, munmap and rmmod give every page back
      expect(await m.dd.unloadModule(module)).toEqual({ errno: 'EAGAIN' });
      expect(await m.vm.close(pid, fd)).toEqual({ ret: 0 });
      expect(await m.dd.unloadModule(module)).toEqual({ errno: 'EAGAIN' });
      await m.vm.syscalls([{ pid, call: { kind: 'munmap', addr: dev, length: NPAGES * PAGE } }]);
      // munmap clears the PTEs and leaves the driver's pages alone
      expect(pfns.map((p) => [m.pa.pageCount(p), m.pa.pageMapcount(p)])).toEqual(Array(NPAGES).fill([1, 0]));
      expect(m.dd.openFiles()).toEqual([]);
      await m.vm.exitProcess(pid);
      expect(await m.dd.unlink(MMAP_DEV)).toEqual({ errno: null });
      expect(await m.dd.unloadModule(module)).toEqual({ errno: null });
      // every page is back but the kernel page tables vmalloc added (init_mm's stay, as in Linux)
      expect(m.pa.nrFreePages + (m.mmu.tablePages() - tables)).toBe(free);
    },
  );

  it('vmmap on a private writable mapping is EINVAL (per-page remap of a COW mapping): no VMA, no PTE, no extra reference', async () => {
    await using m = await boot();
    const { pid, fd } = await openDev(m, 'vmmap');
    expect(await mmap(m, pid, fd, NPAGES * PAGE, M.PROT_READ | M.PROT_WRITE, M.MAP_PRIVATE)).toEqual({
      errno: 'EINVAL',
    });
    expect(await m.vm.procFile(pid, 'maps')).toBe('');
    const top = 0x7fff_ffff_f000;
    expect((await m.vm.task(pid).mm.pagemap(top - 64 * PAGE, top)).some((e) => e.present)).toBe(false);
    expect(m.dd.openFiles().map((f) => f.count)).toEqual([1]);
  });

  it('the pages driver with stride 2 leaves holes: SIGBUS there, the mapped pages read', async () => {
    await using m = await boot();
    const { pid, fd } = await openDev(m, 'pages', { stride: '2' });
    const r = await mmap(m, pid, fd, 4 * PAGE);
    if (!('ret' in r)) throw new Error(`mmap: ${r.errno}`);
    expect(
      await m.vm.handleFaults([
        { pid, address: r.ret + PAGE, errorCode: READ_FAULT },
        { pid, address: r.ret + 3 * PAGE, errorCode: READ_FAULT },
      ]),
    ).toEqual(['sigbus', 'sigbus']);
    expect((await pageHeads(m, pid, r.ret, 1))[0]).toMatch(/^aa/);
  });

  it('fork shares the file and the mapping; exit of both puts every reference', async () => {
    await using m = await boot();
    const { pid, fd } = await openDev(m, 'kmmap');
    const r = await mmap(m, pid, fd, NPAGES * PAGE);
    if (!('ret' in r)) throw new Error(`mmap: ${r.errno}`);
    const child = await m.vm.fork(pid);
    // the parent's fd and VMA, the child's fd and VMA
    expect(m.dd.openFiles().map((f) => f.count)).toEqual([4]);
    expect(await pageHeads(m, child, r.ret, 1)).toEqual([Buffer.from(INIT_PATTERN).toString('hex')]);
    await m.vm.exitProcess(child);
    expect(m.dd.openFiles().map((f) => f.count)).toEqual([2]);
    await m.vm.exitProcess(pid);
    expect(m.dd.openFiles()).toEqual([]);
  });

  it('file errors are values: ENOENT without the node, EBADF for an fd not open, ENOENT for an entry no driver made', async () => {
    await using m = await boot();
    const pid = await m.vm.createProcess('t');
    expect(await m.vm.open(pid, MMAP_DEV, O_RDWR)).toEqual({ errno: 'ENOENT' });
    expect(await m.vm.read(pid, 3, 1)).toEqual({ errno: 'EBADF' });
    expect(await m.vm.write(pid, 3, Uint8Array.of(1))).toEqual({ errno: 'EBADF' });
    expect(await m.vm.close(pid, 3)).toEqual({ errno: 'EBADF' });
    expect(await m.vm.procEntry(pid, PROC_ENTRY_NAME)).toEqual({ errno: 'ENOENT' });
  });
});

describe('grpcRemapMmuPort: a driver remap applied over the mmu service', () => {
  jest.setTimeout(60_000);

  it('a refused call undoes the earlier ones (nothing left mapped) and fails with its errno', async () => {
    await using m = await boot();
    const asid = await m.ports.mmu.createAddressSpace();
    const start = 0x7f00_0000_0000;
    const vma = {
      vmStart: start,
      vmEnd: start + 4 * PAGE,
      vmFlags: V.VM_READ | V.VM_SHARED | V.VM_MAYREAD | V.VM_MAYSHARE,
      vmPgoff: 0,
      vmPageProt: PROT_X86_64.PAGE_READONLY,
    };
    const pfn = m.pa.managedPages - 64;
    const first = { addr: start, pfn, size: 2 * PAGE, pgprot: vma.vmPageProt };
    // past vm_end: remap_pfn_range's -EINVAL
    const second = { addr: start + 3 * PAGE, pfn: pfn + 3, size: 2 * PAGE, pgprot: vma.vmPageProt };
    const remap = grpcRemapMmuPort(m.mmuClient);
    const refused = await applyRemapRequests(remap, asid, vma, [first, second]);
    expect(refused).toMatchObject({ errno: 'EINVAL', applied: 1, mappedPages: 0 });
    expect((await m.ports.mmu.pagemap(asid, [{ start, end: start + 4 * PAGE }])).some((e) => e.present)).toBe(
      false,
    );
    const done = await applyRemapRequests(remap, asid, vma, [first]);
    expect(done).toMatchObject({ errno: null, applied: 1, mappedPages: 2 });
    const entries = await m.ports.mmu.pagemap(asid, [{ start, end: start + 2 * PAGE }]);
    expect(entries.map((e) => [e.present, e.special, e.pfn])).toEqual([
      [true, true, pfn],
      [true, true, pfn + 1],
    ]);
    await m.ports.mmu.unmapRanges(asid, [{ start, end: start + 2 * PAGE }]);
    await m.ports.mmu.destroyAddressSpace(asid);
  });
});
