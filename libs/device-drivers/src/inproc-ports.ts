import type { Mmu } from '@pagemesh/mmu';
import { type PageAllocator, PageFlag } from '@pagemesh/page-allocator';
import { PAGE_SIZE } from '@pagemesh/uapi';

import type { DriverPorts, PhysRange, PhysWrite } from './ports';

/**
 * The driver ports implemented directly over the domain objects, for in-process use and tests.
 * Batches are all or nothing: where the allocator has no batch form (SetPageReserved and
 * ClearPageReserved), the adapter applies the PFNs one by one and puts back the flags it already
 * changed if one is refused.
 */
export function inprocDriverPorts(pa: PageAllocator, mmu: Mmu): DriverPorts {
  const checkAll = (pfns: readonly number[]): void => {
    for (const pfn of pfns) pa.validatePfn(pfn);
  };
  const setReservedAll = (pfns: readonly number[], reserved: boolean): void => {
    checkAll(pfns);
    const before = pfns.map((pfn) => pa.testPageFlag(pfn, PageFlag.Reserved));
    let done = 0;
    try {
      for (const pfn of pfns) {
        if (reserved) pa.setPageReserved(pfn);
        else pa.clearPageReserved(pfn);
        done++;
      }
    } catch (e) {
      for (let i = done - 1; i >= 0; i--) {
        if (before[i]) pa.setPageReserved(pfns[i]);
        else pa.clearPageReserved(pfns[i]);
      }
      throw e;
    }
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
      async pageAddresses(pfns: readonly number[]): Promise<(number | null)[]> {
        checkAll(pfns);
        return pfns.map((pfn) => pa.pageAddress(pfn));
      },
      async allocPages(gfp: number, order: number): Promise<number | null> {
        return pa.allocPages(gfp, order);
      },
      async freePages(pfn: number, order: number): Promise<void> {
        pa.freePages(pfn, order);
      },
      async setPagesReserved(pfns: readonly number[]): Promise<void> {
        setReservedAll(pfns, true);
      },
      async clearPagesReserved(pfns: readonly number[]): Promise<void> {
        setReservedAll(pfns, false);
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
