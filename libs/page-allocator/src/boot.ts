import { BuddyAllocator } from './buddy-allocator';
import { MachineProfile } from './machine-profile';
import { MAX_PAGE_ORDER } from './orders';
import { PageFlag } from './page-flags';
import { MemMap, NOT_MANAGED_BIT } from './struct-page';
import { ZoneState } from './zone';

/**
 * memmap_init + memblock_free_all() (mm/mm_init.c, mm/memblock.c): every page gets its zone;
 * reserved ranges stay PG_reserved with refcount 1 and are not managed; every other range is
 * freed as __free_pages_memory() does, in naturally aligned chunks of up to MAX_PAGE_ORDER,
 * lowest address first, each through __free_pages_core() with FPI_TO_TAIL (merging with its
 * buddy, then to the tail of its list). Managed page counts grow as the chunks are freed.
 */
export function memblockFreeAll(
  mem: MemMap,
  buddy: BuddyAllocator,
  zones: readonly ZoneState[],
  profile: MachineProfile,
  zoneIdxOfZone: Int8Array,
): void {
  for (const z of zones) if (z.populated) mem.setZoneRange(z.startPfn, z.endPfn, z.zone);
  const reservedBits = NOT_MANAGED_BIT | (1 << PageFlag.Reserved);
  const reserved = [...profile.reservations].sort((a, b) => a.startPfn - b.startPfn);
  for (const r of reserved) {
    for (let pfn = r.startPfn; pfn < r.endPfn; pfn++) {
      mem.flags[pfn] |= reservedBits;
      mem.refcount[pfn] = 1;
    }
  }
  const freeRange = (from: number, to: number): void => {
    let pfn = from;
    while (pfn < to) {
      let order = pfn === 0 ? MAX_PAGE_ORDER : Math.min(MAX_PAGE_ORDER, ctz(pfn));
      while (pfn + (1 << order) > to) order--;
      const zi = zoneIdxOfZone[mem.zone(pfn)];
      zones[zi].managedPages += 1 << order;
      buddy.freeOneBlock(zi, pfn, order, true);
      pfn += 1 << order;
    }
  };
  let start = 0;
  for (const r of reserved) {
    if (r.startPfn > start) freeRange(start, r.startPfn);
    start = Math.max(start, r.endPfn);
  }
  if (start < profile.maxPfn) freeRange(start, profile.maxPfn);
}

/** __ffs(): index of the lowest set bit of a positive integer below 2^31. */
function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}
