import { InvariantViolationError } from './errors';
import { MAX_PAGE_ORDER, NR_PAGE_ORDERS } from './orders';
import type { PageAllocator } from './page-allocator';
import { NIL } from './struct-page';
import { PageFlag, PageType } from './page-flags';

export interface InvariantReport {
  freePages: number;
  allocatedPages: number;
  reservedPages: number;
  totalPages: number;
}

/**
 * Walks every free list and every struct page and throws InvariantViolationError on the first
 * inconsistency:
 *  - list links are consistent, nr_free matches, zone free counts match;
 *  - every free block is PageBuddy with its order, naturally aligned, inside its zone, and its
 *    buddy is not a free block of the same order (it would have been merged);
 *  - no page is both in a free block and in use; no managed page is neither (a leak);
 *  - free + allocated + reserved = total.
 * O(total pages): meant for tests on small machines.
 */
export function checkInvariants(pa: PageAllocator): InvariantReport {
  const { mem, buddy, zones } = pa;
  const total = pa.totalPages;
  const inFree = new Uint8Array(total);
  const fail = (msg: string): never => {
    throw new InvariantViolationError(msg);
  };
  const hex = (n: number): string => `0x${n.toString(16)}`;

  let freeTotal = 0;
  for (const z of zones) {
    let zoneFree = 0;
    for (let order = 0; order < NR_PAGE_ORDERS; order++) {
      const slot = z.index * NR_PAGE_ORDERS + order;
      let count = 0;
      let prev = NIL;
      for (let pfn = buddy.head[slot]; pfn !== NIL; pfn = mem.mapcountOrNext[pfn]) {
        if (++count > total) fail(`zone ${z.name} order ${order}: free list has a cycle`);
        if (mem.privOrPrev[pfn] !== prev)
          fail(`zone ${z.name} order ${order}: pfn ${hex(pfn)} prev link ${mem.privOrPrev[pfn]} != ${prev}`);
        if (!mem.isBuddy(pfn)) fail(`pfn ${hex(pfn)} on the order-${order} free list is not PageBuddy`);
        if (mem.order(pfn) !== order)
          fail(`pfn ${hex(pfn)} on the order-${order} list has buddy order ${mem.order(pfn)}`);
        if (pfn % (1 << order) !== 0) fail(`free block ${hex(pfn)} is not aligned to its order ${order}`);
        if (pfn < z.startPfn || pfn + (1 << order) > z.endPfn)
          fail(`free block ${hex(pfn)} order ${order} is outside zone ${z.name}`);
        if (order < MAX_PAGE_ORDER) {
          const b = pfn ^ (1 << order);
          if (b < total && mem.isBuddy(b) && mem.order(b) === order && mem.zone(b) === z.zone) {
            fail(
              `free block ${hex(pfn)} and its buddy ${hex(b)} are both free at order ${order} (not merged)`,
            );
          }
        }
        for (let i = pfn; i < pfn + (1 << order); i++) {
          if (inFree[i]) fail(`pfn ${hex(i)} is in two free blocks`);
          inFree[i] = 1;
          if (mem.refcount[i] !== 0) fail(`free pfn ${hex(i)} has refcount ${mem.refcount[i]}`);
          if (mem.isTail(i)) fail(`free pfn ${hex(i)} is marked as the tail of an allocation`);
          if (!mem.isManaged(i)) fail(`free pfn ${hex(i)} is a boot reservation`);
          if (i !== pfn && mem.isBuddy(i))
            fail(`pfn ${hex(i)} inside free block ${hex(pfn)} is itself PageBuddy`);
          if (i !== pfn && mem.mapcountOrNext[i] !== -1)
            fail(`free pfn ${hex(i)} has mapcount ${mem.mapcountOrNext[i] + 1}`);
          if (mem.zone(i) !== z.zone) fail(`free pfn ${hex(i)} has zone ${mem.zone(i)} in zone ${z.name}`);
        }
        zoneFree += 1 << order;
        prev = pfn;
      }
      if (buddy.tail[slot] !== prev)
        fail(`zone ${z.name} order ${order}: tail ${buddy.tail[slot]} != last ${prev}`);
      if (count !== buddy.nrFree[slot])
        fail(`zone ${z.name} order ${order}: nr_free ${buddy.nrFree[slot]} but ${count} blocks listed`);
    }
    if (zoneFree !== z.freePages)
      fail(`zone ${z.name}: NR_FREE_PAGES ${z.freePages} but lists hold ${zoneFree}`);
    freeTotal += zoneFree;
  }

  let reserved = 0;
  let allocated = 0;
  for (let pfn = 0; pfn < total; pfn++) {
    if (inFree[pfn]) continue;
    if (mem.isBuddy(pfn)) fail(`pfn ${hex(pfn)} is PageBuddy but on no free list`);
    if (!mem.isManaged(pfn)) {
      reserved++;
      continue;
    }
    if (mem.isTail(pfn)) {
      const head = mem.privOrPrev[pfn];
      if (head >= pfn || mem.isTail(head) || mem.refcount[head] === 0) {
        fail(`tail pfn ${hex(pfn)} points at head ${hex(head)} which is not an allocated block head`);
      }
      if (pfn >= head + (1 << mem.order(head)))
        fail(`tail pfn ${hex(pfn)} lies beyond its head ${hex(head)}'s order ${mem.order(head)}`);
      allocated++;
      continue;
    }
    if (mem.refcount[pfn] <= 0)
      fail(`pfn ${hex(pfn)} is neither free nor referenced (refcount ${mem.refcount[pfn]}): leaked`);
    allocated++;
  }
  if (freeTotal + allocated + reserved !== total) {
    fail(`free ${freeTotal} + allocated ${allocated} + reserved ${reserved} != total ${total}`);
  }
  checkSlabInvariants(pa, fail);
  if (pa.managedPages !== total - reserved)
    fail(`managed pages ${pa.managedPages} != total ${total} - reserved ${reserved}`);
  return { freePages: freeTotal, allocatedPages: allocated, reservedPages: reserved, totalPages: total };
}

function checkSlabInvariants(pa: PageAllocator, fail: (msg: string) => never): void {
  const { mem, slab: km } = pa;
  let slabPages = 0;
  let reclaimablePages = 0;
  for (const c of km.caches) {
    let slabs = 0;
    let objects = 0;
    let live = 0;
    const seen = new Set<unknown>();
    const visit = (s: NonNullable<typeof c.cpuSlab>, where: string): void => {
      if (seen.has(s)) fail(`${c.name}: slab 0x${s.pfn.toString(16)} is both cpu slab and partial`);
      seen.add(s);
      if (km.slabOf(s.pfn) !== s) fail(`${c.name}: ${where} slab 0x${s.pfn.toString(16)} is not registered`);
      if (!mem.testFlag(s.pfn, PageFlag.Slab))
        fail(`${c.name}: slab page 0x${s.pfn.toString(16)} lacks PG_slab`);
      if (mem.refcount[s.pfn] < 1)
        fail(`${c.name}: slab page 0x${s.pfn.toString(16)} has refcount ${mem.refcount[s.pfn]}`);
      if (s.inuse + s.freelist.length !== s.objects)
        fail(
          `${c.name}: slab 0x${s.pfn.toString(16)} inuse ${s.inuse} + free ${s.freelist.length} != ${s.objects}`,
        );
      if (s.inuse === 0) fail(`${c.name}: empty slab 0x${s.pfn.toString(16)} was not discarded`);
    };
    if (c.cpuSlab) visit(c.cpuSlab, 'cpu');
    for (const s of c.partial) {
      visit(s, 'partial');
      if (s.freelist.length === 0) fail(`${c.name}: full slab 0x${s.pfn.toString(16)} on the partial list`);
    }
    for (const s of km.allSlabs()) {
      if (s.cache !== c) continue;
      slabs++;
      objects += s.objects;
      live += s.inuse;
      if (c.reclaimable) reclaimablePages += 1 << s.order;
      else slabPages += 1 << s.order;
      if (!seen.has(s) && s.freelist.length !== 0)
        fail(`${c.name}: slab 0x${s.pfn.toString(16)} has free objects but is on no list`);
    }
    if (slabs !== c.nrSlabs) fail(`${c.name}: nr_slabs ${c.nrSlabs} but ${slabs} slabs exist`);
    if (objects !== c.totalObjects) fail(`${c.name}: num_objs ${c.totalObjects} but slabs hold ${objects}`);
    if (live !== c.liveObjects) fail(`${c.name}: ${c.liveObjects} live objects counted, ${live} in slabs`);
  }
  for (const [pfn, order] of km.largeBlocks()) {
    if (mem.pageType(pfn) !== PageType.LargeKmalloc)
      fail(`large kmalloc 0x${pfn.toString(16)} lacks the large_kmalloc page type`);
    slabPages += 1 << order;
  }
  if (reclaimablePages !== pa.slabReclaimablePages)
    fail(`SReclaimable ${pa.slabReclaimablePages} pages but kmalloc-rcl slabs hold ${reclaimablePages}`);
  if (slabPages !== pa.slabUnreclaimablePages)
    fail(`SUnreclaim ${pa.slabUnreclaimablePages} pages but slabs and large kmallocs hold ${slabPages}`);
}
