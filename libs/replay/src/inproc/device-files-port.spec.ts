import { DeviceDrivers, inprocDriverPorts } from '@pagemesh/device-drivers';
import { Mmu, inprocPageAllocatorPort } from '@pagemesh/mmu';
import { bootMachine } from '@pagemesh/page-allocator';
import { VmaManager, inprocMmuPort, inprocPagesPort, mman as M } from '@pagemesh/vma-manager';
import { inprocDeviceFilesPort } from './device-files-port';

const PAGE = 4096;
const O_RDWR = 2;
const READ_FAULT = 0x4;

/** The real layers wired as the inproc stack wires them: page allocator, mmu, drivers, process table. */
async function boot() {
  const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20, nrCpus: 1 });
  const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 1 });
  const dd = await DeviceDrivers.create(inprocDriverPorts(pa, mmu));
  const vm = await VmaManager.create({
    mmu: inprocMmuPort(mmu),
    pages: inprocPagesPort(pa),
    files: inprocDeviceFilesPort(dd, mmu),
  });
  return { pa, mmu, dd, vm };
}

async function openDev(
  vm: VmaManager,
  dd: DeviceDrivers,
  module: string,
  params: Record<string, string> = {},
) {
  expect(await dd.loadModule(module, params)).toEqual({ errno: null });
  expect(await dd.mknod('/dev/mymmap', 42, 0)).toEqual({ errno: null });
  const pid = await vm.createProcess('mmap-test');
  const r = await vm.open(pid, '/dev/mymmap', O_RDWR);
  if (!('ret' in r)) throw new Error(`open: ${r.errno}`);
  return { pid, fd: r.ret };
}

async function mmap(vm: VmaManager, pid: number, fd: number, pages: number, flags = M.MAP_SHARED) {
  const [r] = await vm.syscalls([
    { pid, call: { kind: 'mmap', addr: 0, length: pages * PAGE, prot: M.PROT_READ, flags, fd } },
  ]);
  return r;
}

describe('device files through the real device drivers', () => {
  it('the pages driver with stride 2 leaves holes: a read there is SIGBUS, the mapped pages read', async () => {
    const { vm, dd } = await boot();
    const { pid, fd } = await openDev(vm, dd, 'pages', { stride: '2' });
    const r = await mmap(vm, pid, fd, 4);
    if (!('ret' in r)) throw new Error(`mmap: ${r.errno}`);
    const base = r.ret;
    expect(await vm.procFile(pid, 'maps')).toMatch(
      /^[0-9a-f]+-[0-9a-f]+ r--s 00000000 00:05 \d+ +\/dev\/mymmap\n$/,
    );
    expect(
      await vm.handleFaults([
        { pid, address: base + PAGE, errorCode: READ_FAULT },
        { pid, address: base + 3 * PAGE, errorCode: READ_FAULT },
      ]),
    ).toEqual(['sigbus', 'sigbus']);
    const walk = await vm.task(pid).mm.access(base, 1, false);
    expect(walk).toEqual({ done: 1, signal: null, bytes: [0xaa] });
  });

  it('kmmap: 17 pages is EIO; vmmap on a private mapping is EINVAL (per-page remap of a COW mapping); neither leaves a VMA or a PTE', async () => {
    for (const [module, flags, errno] of [
      ['kmmap', M.MAP_SHARED, 'EIO'],
      ['vmmap', M.MAP_PRIVATE, 'EINVAL'],
    ] as const) {
      const { vm, dd } = await boot();
      const { pid, fd } = await openDev(vm, dd, module);
      expect(await mmap(vm, pid, fd, module === 'kmmap' ? 17 : 16, flags)).toEqual({ errno });
      expect(await vm.procFile(pid, 'maps')).toBe('');
      const top = 0x7fff_ffff_f000;
      expect((await vm.task(pid).mm.pagemap(top - 64 * PAGE, top)).some((e) => e.present)).toBe(false);
      // only the fd holds the file
      expect(dd.openFiles().map((f) => f.count)).toEqual([1]);
    }
  });

  it('kmmap on a private mapping (one whole-VMA remap of a COW mapping): vm_pgoff becomes the PFN, which maps prints as the offset', async () => {
    const { vm, dd } = await boot();
    const { pid, fd } = await openDev(vm, dd, 'kmmap');
    const r = await mmap(vm, pid, fd, 16, M.MAP_PRIVATE);
    if (!('ret' in r)) throw new Error(`mmap: ${r.errno}`);
    const pfn = (await dd.driverMemory('kmmap'))?.pfns[0] as number;
    const offset = (pfn * PAGE).toString(16).padStart(8, '0');
    expect(await vm.procFile(pid, 'maps')).toMatch(new RegExp(` r--p ${offset} 00:05 \\d+ +/dev/mymmap\n$`));
    const [e] = await vm.task(pid).mm.pagemap(r.ret, r.ret + PAGE);
    expect(e).toMatchObject({ present: true, special: true, pfn });
  });

  it('the mapping pins the module after close; exit and rmmod give every page back', async () => {
    const { pa, vm, dd } = await boot();
    const free = pa.nrFreePages;
    const { pid, fd } = await openDev(vm, dd, 'kmmap');
    const r = await mmap(vm, pid, fd, 16);
    if (!('ret' in r)) throw new Error(`mmap: ${r.errno}`);
    const mem = await dd.driverMemory('kmmap');
    const counts = () => mem?.pfns.map((p) => [pa.pageCount(p), pa.pageMapcount(p)]);
    const before = counts();
    const child = await vm.fork(pid);
    expect(counts()).toEqual(before);
    expect(dd.openFiles().map((f) => f.count)).toEqual([4]);
    expect(await vm.close(pid, fd)).toEqual({ ret: 0 });
    await vm.exitProcess(child);
    // the parent's VMA still holds the file, so the module stays
    expect(await dd.unloadModule('kmmap')).toEqual({ errno: 'EAGAIN' });
    await vm.exitProcess(pid);
    expect(dd.openFiles()).toEqual([]);
    expect(await dd.unlink('/dev/mymmap')).toEqual({ errno: null });
    expect(await dd.unloadModule('kmmap')).toEqual({ errno: null });
    expect(pa.nrFreePages).toBe(free);
  });
});
