import type { Mmu } from '@pagemesh/mmu';
import { type PageAllocator, PageFlag } from '@pagemesh/page-allocator';
import { PAGE_SIZE } from '@pagemesh/uapi';

import type { DriverPorts, PhysRange, PhysWrite } from './ports';

/**
 * The driver ports implemented directly over the domain objects, for in-process use and tests.
 * Each batch is validated by the allocator before it changes anything where the allocator offers
 * a batch call; SetPageReserved/ClearPageReserved have no batch form there, so the adapter checks
 * every PFN first (validatePfn) and then applies them one by one.
 */
export function inprocDriverPorts(pa: PageAllocator, mmu: Mmu): DriverPorts {
  const checkAll = (pfns: readonly number[]): void => {
    for (const pfn of pfns) pa.validatePfn(pfn);
  };
  return {
    pageAllocator: {
      async kmalloc(size: number, gfp: number): Promise<number | null> {
        return pa.kmalloc(size, gfp);
      },
      async kfree(addr: number): Promise<void> {
        pa.kfree(addr);
      },
      async virtToPfns(addrs: readonly number[]): Promise<number[]> {
        return addrs.map((a) => pa.virtToPfn(a));
      },
      async allocPages(gfp: number, order: number): Promise<number | null> {
        return pa.allocPages(gfp, order);
      },
      async freePages(pfn: number, order: number): Promise<void> {
        pa.freePages(pfn, order);
      },
      async setPagesReserved(pfns: readonly number[]): Promise<void> {
        checkAll(pfns);
        for (const pfn of pfns) pa.setPageReserved(pfn);
      },
      async clearPagesReserved(pfns: readonly number[]): Promise<void> {
        checkAll(pfns);
        for (const pfn of pfns) pa.clearPageReserved(pfn);
      },
      async testPagesReserved(pfns: readonly number[]): Promise<boolean[]> {
        checkAll(pfns);
        return pfns.map((pfn) => pa.testPageFlag(pfn, PageFlag.Reserved));
      },
      async readPhys(ranges: readonly PhysRange[]): Promise<Uint8Array[]> {
        return pa.readPhysBatch(ranges);
      },
      async writePhys(writes: readonly PhysWrite[]): Promise<void> {
        pa.writePhysBatch(writes);
      },
    },
    mmu: {
      async arch() {
        return mmu.profile.arch;
      },
      vmalloc(size: number): Promise<number | null> {
        return mmu.vmalloc(size);
      },
      vfree(addr: number): Promise<void> {
        return mmu.vfree(addr);
      },
      async vmallocToPfns(addr: number, count: number): Promise<(number | null)[]> {
        return Array.from({ length: count }, (_, i) => mmu.vmallocToPfn(addr + i * PAGE_SIZE));
      },
    },
  };
}
