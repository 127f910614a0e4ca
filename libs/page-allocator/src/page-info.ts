import { PAGE_SIZE } from '@pagemesh/uapi';
import type { PageAllocator } from './page-allocator';
import { PAGE_FLAG_COUNT, PAGE_FLAG_NAMES, PAGE_TYPE_NAMES, PageFlag, PageMapping } from './page-flags';

/** A display/rpc snapshot of one struct page. Not for hot paths. */
export interface PageInfo {
  pfn: number;
  paddr: number;
  /** Kernel virtual address (va48) in the direct map, null for highmem. */
  virt: number | null;
  zone: string;
  flags: string[];
  pageType: string | null;
  refcount: number;
  mapcount: number;
  /** Buddy order for a free block head, allocation/compound order for an allocated head, else 0. */
  order: number;
  state: 'free' | 'allocated' | 'reserved';
  /** PageBuddy: head of a free block */
  buddy: boolean;
  compoundHead: boolean;
  /** Head PFN when this page is a tail of an allocated block (compound or not), else null. */
  headPfn: number | null;
  mapping: PageMapping;
}

/** Build the snapshot of a valid PFN (the caller validated it). */
export function describePage(pa: PageAllocator, pfn: number): PageInfo {
  const mem = pa.mem;
  const flags: string[] = [];
  for (let f = 0; f < PAGE_FLAG_COUNT; f++) if (mem.testFlag(pfn, f)) flags.push(PAGE_FLAG_NAMES[f]);
  const type = mem.pageType(pfn);
  const tail = mem.isTail(pfn);
  const free = !tail && mem.isManaged(pfn) && mem.refcount[pfn] === 0;
  const p = pa.profile;
  return {
    pfn,
    paddr: pfn * PAGE_SIZE,
    virt: pfn < p.maxLowPfn ? p.pageOffset + pfn * PAGE_SIZE : null,
    zone: pa.zones[pa.zoneIndexOfPfn(pfn)].name,
    flags,
    pageType: type === null ? null : PAGE_TYPE_NAMES[type],
    refcount: pa.pageCount(pfn),
    mapcount: mem.mapcount(pfn),
    order: tail ? 0 : mem.order(pfn),
    state: !mem.isManaged(pfn) ? 'reserved' : free ? 'free' : 'allocated',
    buddy: mem.isBuddy(pfn),
    compoundHead: mem.testFlag(pfn, PageFlag.Head),
    headPfn: tail ? mem.privOrPrev[pfn] : null,
    mapping: mem.mapping(pfn),
  };
}
