import { GFP, type PageAllocator, PageType } from '@pagemesh/page-allocator';

import type { MachineInfo, PageAllocatorPort, PhysOp } from './ports';

/** GFP_PGTABLE_KERNEL = GFP_KERNEL | __GFP_ZERO (include/asm-generic/pgalloc.h). */
const GFP_PGTABLE_KERNEL = GFP.KERNEL | GFP.ZERO;
/** GFP_PGTABLE_USER = GFP_PGTABLE_KERNEL | __GFP_ACCOUNT. */
const GFP_PGTABLE_USER = GFP_PGTABLE_KERNEL | GFP.ACCOUNT;
/** vmalloc's default: GFP_KERNEL | __GFP_HIGHMEM (mm/vmalloc.c __vmalloc_area_node). */
const GFP_VMALLOC = GFP.KERNEL | GFP.HIGHMEM;

/**
 * The port implemented directly over the page-allocator domain object, for in-process use and
 * tests. Over gRPC the same interface is implemented by the page-allocator rpc client.
 */
export function inprocPageAllocatorPort(pa: PageAllocator): PageAllocatorPort {
  const allocAll = (gfp: number, count: number): number[] | null => {
    const pfns = pa.allocPagesBulk(gfp, 0, count);
    if (pfns.length === count) return pfns;
    for (const pfn of pfns) pa.freePages(pfn, 0);
    return null;
  };
  return {
    async machine(): Promise<MachineInfo> {
      const p = pa.profile;
      return { arch: p.arch, maxPfn: p.maxPfn, maxLowPfn: p.maxLowPfn, totalPages: pa.managedPages };
    },
    async allocPageTables(count: number, user: boolean): Promise<number[] | null> {
      const pfns = allocAll(user ? GFP_PGTABLE_USER : GFP_PGTABLE_KERNEL, count);
      if (pfns === null) return null;
      for (const pfn of pfns) pa.setPageType(pfn, PageType.Table); // __pagetable_ctor: NR_PAGETABLE
      return pfns;
    },
    async freePageTables(pfns: readonly number[]): Promise<void> {
      for (const pfn of pfns) {
        pa.clearPageType(pfn, PageType.Table);
        pa.freePages(pfn, 0);
      }
    },
    async allocVmallocPages(count: number): Promise<number[] | null> {
      const pfns = allocAll(GFP_VMALLOC, count);
      if (pfns === null) return null;
      pa.addVmallocPages(count);
      return pfns;
    },
    async freeVmallocPages(pfns: readonly number[]): Promise<void> {
      for (const pfn of pfns) pa.freePages(pfn, 0);
      pa.addVmallocPages(-pfns.length);
    },
    async transferPhys(ops: readonly PhysOp[]): Promise<Uint8Array[]> {
      const out: Uint8Array[] = [];
      for (const op of ops) {
        if (op.op === 'read') out.push(pa.readPhys(op.paddr, op.length));
        else pa.writePhys(op.paddr, op.bytes);
      }
      return out;
    },
    async mapcounts(pfns: readonly number[]): Promise<number[]> {
      return pfns.map((pfn) => pa.pageMapcount(pfn));
    },
  };
}
