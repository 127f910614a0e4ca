import { MAX_PAGE_ORDER, NR_PAGE_ORDERS } from './orders';
import {
  BUDDY_TYPE_BITS,
  MemMap,
  NIL,
  ORDER_MASK,
  ORDER_SHIFT,
  TYPE_MASK,
  ZONE_MASK,
  ZONE_SHIFT,
} from './struct-page';
import { ZoneState } from './zone';

/**
 * The buddy allocator proper: per zone, free_area[order] as intrusive doubly-linked lists
 * threaded through mem_map (buddy_list), one flat typed array per field across zones
 * (slot = zoneIndex * NR_PAGE_ORDERS + order). No migratetypes and no per-CPU lists: one list
 * per order, so /proc/buddyinfo is exact and the same calls give the same PFNs.
 */
export class BuddyAllocator {
  /** free_area[order].free_list head / tail PFN (NIL when empty) */
  readonly head: Int32Array;
  readonly tail: Int32Array;
  /** free_area[order].nr_free: blocks, not pages */
  readonly nrFree: Int32Array;
  /** Per zone index: the flags bits a free block head of order 0 in that zone carries (type buddy + zone). */
  private readonly buddyBits: Int32Array;

  constructor(
    readonly mem: MemMap,
    readonly zones: readonly ZoneState[],
  ) {
    const slots = zones.length * NR_PAGE_ORDERS;
    this.head = new Int32Array(slots).fill(NIL);
    this.tail = new Int32Array(slots).fill(NIL);
    this.nrFree = new Int32Array(slots);
    this.buddyBits = new Int32Array(zones.length);
    zones.forEach((z, i) => (this.buddyBits[i] = BUDDY_TYPE_BITS | (z.zone << ZONE_SHIFT)));
  }

  /** __add_to_free_list + set_buddy_order + account_freepages */
  addToFreeList(zi: number, pfn: number, order: number, toTail: boolean): void {
    const mem = this.mem;
    const next = mem.mapcountOrNext;
    const prev = mem.privOrPrev;
    const slot = zi * NR_PAGE_ORDERS + order;
    mem.setBuddy(pfn, order);
    const first = this.head[slot];
    if (first === NIL) {
      next[pfn] = NIL;
      prev[pfn] = NIL;
      this.head[slot] = pfn;
      this.tail[slot] = pfn;
    } else if (toTail) {
      const last = this.tail[slot];
      prev[pfn] = last;
      next[pfn] = NIL;
      next[last] = pfn;
      this.tail[slot] = pfn;
    } else {
      next[pfn] = first;
      prev[pfn] = NIL;
      prev[first] = pfn;
      this.head[slot] = pfn;
    }
    this.nrFree[slot]++;
    this.zones[zi].freePages += 1 << order;
  }

  /** del_page_from_free_list: O(1) unlink, __ClearPageBuddy, account_freepages */
  delFromFreeList(zi: number, pfn: number, order: number): void {
    const mem = this.mem;
    const next = mem.mapcountOrNext;
    const prev = mem.privOrPrev;
    const slot = zi * NR_PAGE_ORDERS + order;
    const n = next[pfn];
    const p = prev[pfn];
    if (p === NIL) this.head[slot] = n;
    else next[p] = n;
    if (n === NIL) this.tail[slot] = p;
    else prev[n] = p;
    mem.clearBuddy(pfn);
    this.nrFree[slot]--;
    this.zones[zi].freePages -= 1 << order;
  }

  /** page_is_buddy(): a free block head of exactly this order, in the same zone. */
  pageIsBuddy(zi: number, buddyPfn: number, order: number): boolean {
    if (buddyPfn >= this.mem.nrPages) return false;
    // one read of the flags word: PageBuddy, buddy_order == order, same zone
    const f = this.mem.flags[buddyPfn] & (TYPE_MASK | ORDER_MASK | ZONE_MASK);
    return f === (this.buddyBits[zi] | (order << ORDER_SHIFT));
  }

  /**
   * __rmqueue_smallest(): the first block (list head) of the smallest order that fits, split
   * down by expand(). Returns the head PFN or NIL.
   */
  rmqueueSmallest(zi: number, order: number): number {
    const base = zi * NR_PAGE_ORDERS;
    for (let current = order; current < NR_PAGE_ORDERS; current++) {
      const pfn = this.head[base + current];
      if (pfn === NIL) continue;
      this.delFromFreeList(zi, pfn, current);
      this.expand(zi, pfn, order, current);
      return pfn;
    }
    return NIL;
  }

  /** expand(): give back the upper halves, largest first, each to the head of its list. */
  expand(zi: number, pfn: number, low: number, high: number): void {
    let size = 1 << high;
    while (high > low) {
      high--;
      size >>= 1;
      this.addToFreeList(zi, pfn + size, high, false);
    }
  }

  /**
   * __free_one_page(): merge with the buddy (pfn ^ (1 << order)) while it is a free block of
   * the same order in the same zone, then insert at the head, or at the tail for boot-time
   * frees (FPI_TO_TAIL) and when buddy_merge_likely() says the next-higher buddy is free.
   */
  freeOneBlock(zi: number, pfn: number, order: number, fpiToTail: boolean): void {
    let buddyPfn = 0;
    while (order < MAX_PAGE_ORDER) {
      buddyPfn = pfn ^ (1 << order);
      if (!this.pageIsBuddy(zi, buddyPfn, order)) break;
      this.delFromFreeList(zi, buddyPfn, order);
      pfn &= buddyPfn;
      order++;
    }
    const toTail = fpiToTail || this.buddyMergeLikely(zi, pfn, buddyPfn, order);
    this.addToFreeList(zi, pfn, order, toTail);
  }

  /** buddy_merge_likely(): is the buddy of the would-be parent block free at order + 1? */
  private buddyMergeLikely(zi: number, pfn: number, buddyPfn: number, order: number): boolean {
    if (order >= MAX_PAGE_ORDER - 1) return false;
    const higher = buddyPfn & pfn;
    return this.pageIsBuddy(zi, higher ^ (1 << (order + 1)), order + 1);
  }

  /** Free pages of a zone at each order, for /proc/buddyinfo. */
  nrFreeOf(zi: number): number[] {
    return Array.from(this.nrFree.subarray(zi * NR_PAGE_ORDERS, (zi + 1) * NR_PAGE_ORDERS));
  }
}
