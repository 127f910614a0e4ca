import { credentials } from '@grpc/grpc-js';
import { inprocDriverPorts, type DriverPorts } from '@pagemesh/device-drivers';
import type { Mmu } from '@pagemesh/mmu';
import { bootMmuOverGrpc, mmuServiceOptions } from '@pagemesh/mmu-rpc';
import { bootMachine, GFP, type PageAllocator } from '@pagemesh/page-allocator';
import { pageAllocatorServiceOptions } from '@pagemesh/page-allocator-rpc';
import { MmuServiceClient, PageAllocatorServiceClient } from '@pagemesh/proto';
import { ClientPool, ephemeralServiceConfig, startService, type RunningService } from '@pagemesh/service-kit';
import { directMapPageAddress, directMapVirtToPfn, grpcDriverPorts } from './driver-ports';

/**
 * The gRPC ports and the in-process ports over the same page allocator and mmu: every call must
 * answer the same, and change the same state.
 */
describe.each(['x86_64', 'x86'] as const)('grpcDriverPorts on %s', (arch) => {
  let pa: PageAllocator;
  let mmu: Mmu;
  let services: RunningService[];
  let pool: ClientPool;
  let grpc: DriverPorts;
  let inproc: DriverPorts;

  beforeAll(async () => {
    pa = bootMachine({ arch, memBytes: arch === 'x86' ? 1024 * 2 ** 20 : 64 * 2 ** 20 });
    pool = new ClientPool();
    const paService = await startService(
      pageAllocatorServiceOptions(pa, ephemeralServiceConfig('page-allocator')),
    );
    mmu = await bootMmuOverGrpc(paService.address, pool);
    const mmuService = await startService(mmuServiceOptions(mmu, ephemeralServiceConfig('mmu')));
    services = [paService, mmuService];
    grpc = grpcDriverPorts(
      new PageAllocatorServiceClient(paService.address, credentials.createInsecure()),
      new MmuServiceClient(mmuService.address, credentials.createInsecure()),
    );
    inproc = inprocDriverPorts(pa, mmu);
  });

  afterAll(async () => {
    pool.close();
    for (const s of services.reverse()) await s.shutdown();
  });

  it('knows the architecture', async () => {
    expect(await grpc.mmu.arch()).toBe(arch);
  });

  it('virt_to_pfn and page_address agree with the allocator, highmem included', async () => {
    const p = pa.profile;
    const addrs = [p.pageOffset, p.pageOffset + 4096 * 7 + 123, p.pageOffset + p.lowmemLimit - 1];
    expect(await grpc.pageAllocator.virtToPfns(addrs)).toEqual(await inproc.pageAllocator.virtToPfns(addrs));
    // on x86 the last two are highmem (no permanent mapping); on x86_64 all RAM is lowmem
    const pfns = [0, 1, p.maxLowPfn - 1, Math.min(p.maxLowPfn, p.maxPfn - 1), p.maxPfn - 1];
    const addresses = await grpc.pageAllocator.pageAddresses(pfns);
    expect(addresses).toEqual(await inproc.pageAllocator.pageAddresses(pfns));
    if (arch === 'x86') expect(addresses.slice(3)).toEqual([null, null]);
    await expect(grpc.pageAllocator.virtToPfns([p.pageOffset + p.lowmemLimit])).rejects.toThrow(/direct-map/);
    await expect(grpc.pageAllocator.pageAddresses([p.maxPfn])).rejects.toThrow(/max_pfn/);
  });

  it('kmalloc, PG_reserved, RAM and kfree go through the page allocator', async () => {
    const free = pa.nrFreePages;
    const addr = await grpc.pageAllocator.kmalloc(3 * 4096, GFP.KERNEL);
    expect(addr).not.toBeNull();
    const [pfn] = await grpc.pageAllocator.virtToPfns([addr as number]);
    expect(pfn).toBe(pa.virtToPfn(addr as number));
    const pfns = [pfn, pfn + 1, pfn + 2];
    await grpc.pageAllocator.setPagesReserved(pfns);
    expect(await grpc.pageAllocator.testPagesReserved(pfns)).toEqual([true, true, true]);
    expect(await inproc.pageAllocator.testPagesReserved(pfns)).toEqual([true, true, true]);
    await grpc.pageAllocator.writePhys([{ paddr: pfn * 4096 + 8, bytes: Uint8Array.of(1, 2, 3) }]);
    expect(await grpc.pageAllocator.readPhys([{ paddr: pfn * 4096 + 8, length: 3 }])).toEqual([
      Uint8Array.of(1, 2, 3),
    ]);
    await grpc.pageAllocator.clearPagesReserved(pfns);
    expect(await grpc.pageAllocator.testPagesReserved(pfns)).toEqual([false, false, false]);
    await grpc.pageAllocator.kfree(addr as number);
    expect(pa.nrFreePages).toBe(free);
  });

  it('alloc_pages and __free_pages', async () => {
    const free = pa.nrFreePages;
    const pfn = await grpc.pageAllocator.allocPages(GFP.KERNEL, 2);
    expect(pfn).not.toBeNull();
    expect(pa.nrFreePages).toBe(free - 4);
    await grpc.pageAllocator.freePages(pfn as number, 2);
    expect(pa.nrFreePages).toBe(free);
  });

  it('vmalloc, vmalloc_to_pfn (null past the area) and vfree go through the mmu', async () => {
    const addr = await grpc.mmu.vmalloc(2 * 4096);
    expect(addr).not.toBeNull();
    const pfns = await grpc.mmu.vmallocToPfns(addr as number, 2);
    expect(pfns).toEqual(await inproc.mmu.vmallocToPfns(addr as number, 2));
    expect(pfns.every((p) => typeof p === 'number')).toBe(true);
    // the guard page after the area is not mapped
    expect(await grpc.mmu.vmallocToPfns(addr as number, 3)).toEqual([...pfns, null]);
    await grpc.mmu.vfree(addr as number);
    expect(await grpc.mmu.vmallocToPfns(addr as number, 1)).toEqual([null]);
  });
});

describe('direct-map arithmetic', () => {
  const m = {
    arch: 'x86' as const,
    memBytes: 2 ** 30,
    maxPfn: 2 ** 18,
    pageOffset: 0xc000_0000,
    lowmemEnd: 896 * 2 ** 20,
  };

  it('refuses what is not a direct-map address or a PFN of the machine', () => {
    expect(directMapVirtToPfn(m, 0xc000_0000 + 5 * 4096)).toBe(5);
    expect(() => directMapVirtToPfn(m, 0xbfff_ffff)).toThrow(/direct-map/);
    expect(directMapPageAddress(m, (896 * 2 ** 20) / 4096)).toBeNull();
    expect(() => directMapPageAddress(m, -1)).toThrow(/max_pfn/);
  });
});
