import { PageType, type PageAllocator } from '@pagemesh/page-allocator';
import type { FrameState, PageAllocatorPort, PhysMemoryMap } from '../ports';

/** What a frame is used for, from its struct page. */
function frameState(pa: PageAllocator, pfn: number): FrameState {
  const page = pa.page(pfn);
  if (page.state === 'free') return 'free';
  if (page.state === 'reserved') return 'reserved';
  if (pa.pageType(pfn) === PageType.Table) return 'page-table';
  if (page.flags.includes('slab')) return 'slab';
  return 'allocated';
}

/** The orchestrator's page-allocator port over a PageAllocator in the same process. */
export function inprocPageAllocatorView(pa: PageAllocator): PageAllocatorPort {
  return {
    async buddyinfo() {
      return pa.procBuddyinfo();
    },
    async meminfo() {
      return pa.procMeminfo();
    },
    async counters() {
      const c = pa.counters();
      const pagesAllocatedByZone: Record<string, number> = {};
      pa.zones.forEach((z, i) => {
        if (z.spannedPages > 0) pagesAllocatedByZone[z.name] = pa.pgalloc[i];
      });
      // the allocator counts pages per zone (pgalloc_*), not allocations per order
      return {
        totalPages: c.totalPages,
        freePages: c.freePages,
        allocationsByOrder: [],
        pagesAllocatedByZone,
      };
    },
    async frames(pfns) {
      return pfns.map((pfn) => {
        const p = pa.page(pfn);
        return { pfn, refcount: p.refcount, mapcount: p.mapcount, state: p.state, zone: p.zone };
      });
    },
    async memoryMap(): Promise<PhysMemoryMap> {
      const total = pa.totalPages;
      const runs: { startPfn: number; count: number; state: FrameState }[] = [];
      for (let pfn = 0; pfn < total; pfn++) {
        const state = frameState(pa, pfn);
        const last = runs[runs.length - 1];
        if (last && last.state === state) last.count++;
        else runs.push({ startPfn: pfn, count: 1, state });
      }
      return {
        totalPfns: total,
        zones: pa.zones
          .filter((z) => z.spannedPages > 0)
          .map((z) => ({ name: z.name, startPfn: z.startPfn, endPfn: z.endPfn })),
        runs,
      };
    },
  };
}
