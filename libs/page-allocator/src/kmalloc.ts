import { PAGE_SIZE } from '@pagemesh/uapi';
import { FailedPreconditionError, InvalidArgumentError } from './errors';
import { GFP, GFP_SLAB_BUG_MASK, validateGfp } from './gfp';
import { MAX_PAGE_ORDER, getOrder } from './orders';
import type { PageAllocator } from './page-allocator';
import { PageFlag, PageType } from './page-flags';
import { KmemCache, Slab, fls } from './slab';

/** ZERO_SIZE_PTR ((void *)16): what kmalloc(0) returns (include/linux/slab.h). */
export const ZERO_SIZE_PTR = 16;
/** KMALLOC_SHIFT_LOW 3: the smallest cache is kmalloc-8. */
export const KMALLOC_SHIFT_LOW = 3;
/** KMALLOC_SHIFT_HIGH = PAGE_SHIFT + 1 (SLUB): the largest cache is kmalloc-8k. */
export const KMALLOC_SHIFT_HIGH = 13;
export const KMALLOC_MAX_CACHE_SIZE = 1 << KMALLOC_SHIFT_HIGH;
/** KMALLOC_MAX_SIZE = 1 << (MAX_PAGE_ORDER + PAGE_SHIFT) = 4 MiB. */
export const KMALLOC_MAX_SIZE = PAGE_SIZE << MAX_PAGE_ORDER;

/** size_index[] (mm/slab_common.c): cache index for sizes 1..192 in steps of 8 (1 = kmalloc-96, 2 = kmalloc-192). */
const SIZE_INDEX = [3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1, 7, 7, 7, 7, 2, 2, 2, 2, 2, 2, 2, 2];

/** kmalloc_index(): which kmalloc cache serves a size (1..KMALLOC_MAX_CACHE_SIZE). */
export function kmallocIndex(size: number): number {
  return size <= 192 ? SIZE_INDEX[(size - 1) >> 3] : fls(size - 1);
}

function cacheSize(index: number): number {
  return index === 1 ? 96 : index === 2 ? 192 : 1 << index;
}

/** kmalloc_info[] names: kmalloc-8 .. kmalloc-8k. */
function cacheName(prefix: string, index: number): string {
  const size = cacheSize(index);
  return `${prefix}${size >= 1024 ? `${size / 1024}k` : size}`;
}

/**
 * enum kmalloc_cache_type with CONFIG_ZONE_DMA and CONFIG_MEMCG, no random caches:
 * KMALLOC_NORMAL, KMALLOC_RECLAIM, KMALLOC_DMA, KMALLOC_CGROUP, with kmalloc_info[] prefixes.
 */
const KMALLOC_TYPES = [
  { prefix: 'kmalloc-', allocFlags: 0, reclaimable: false },
  { prefix: 'kmalloc-rcl-', allocFlags: GFP.RECLAIMABLE, reclaimable: true },
  { prefix: 'dma-kmalloc-', allocFlags: GFP.DMA, reclaimable: false },
  { prefix: 'kmalloc-cg-', allocFlags: 0, reclaimable: false },
] as const;
const KMALLOC_NORMAL = 0;
const KMALLOC_RECLAIM = 1;
const KMALLOC_DMA = 2;
const KMALLOC_CGROUP = 3;

/** kmalloc_type() (include/linux/slab.h): __GFP_DMA, then __GFP_RECLAIMABLE, then __GFP_ACCOUNT. */
export function kmallocType(gfp: number): number {
  if ((gfp & (GFP.DMA | GFP.RECLAIMABLE | GFP.ACCOUNT)) === 0) return KMALLOC_NORMAL;
  if (gfp & GFP.DMA) return KMALLOC_DMA;
  if (gfp & GFP.RECLAIMABLE) return KMALLOC_RECLAIM;
  return KMALLOC_CGROUP;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

/** GFP bits passed from kmalloc's caller to the page allocator (GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK, roughly). */
const PASS_TO_PAGES =
  GFP.DIRECT_RECLAIM |
  GFP.KSWAPD_RECLAIM |
  GFP.IO |
  GFP.FS |
  GFP.HIGH |
  GFP.NOWARN |
  GFP.MEMALLOC |
  GFP.NOMEMALLOC |
  GFP.HARDWALL |
  GFP.THISNODE |
  GFP.NORETRY |
  GFP.RETRY_MAYFAIL |
  GFP.NOFAIL;

type Lookup =
  { kind: 'slab'; slab: Slab; index: number; paddr: number } | { kind: 'large'; pfn: number; order: number };

/**
 * SLUB-style kmalloc on top of the page allocator: kmalloc-8 .. kmalloc-8k (with 96 and 192),
 * and the kmalloc-rcl-* (__GFP_RECLAIMABLE, counted as SReclaimable), dma-kmalloc-* (GFP_DMA)
 * and kmalloc-cg-* (__GFP_ACCOUNT) copies, larger requests straight from the buddy allocator as compound
 * pages of order get_order(size) (___kmalloc_large_node). Objects are lowmem direct-map
 * addresses (va48).
 *
 * Simplifications, all deterministic: no per-CPU slabs beyond one "cpu slab" per cache, no
 * freelist randomisation, and a slab that becomes empty goes straight back to the page
 * allocator (SLUB keeps up to min_partial empty slabs).
 */
export class Kmalloc {
  /** Caches in creation order (/proc/slabinfo lists them newest first). */
  readonly caches: KmemCache[] = [];
  /** kmalloc_caches[type][index] */
  private readonly tables: KmemCache[][] = [];
  private readonly slabs = new Map<number, Slab>();
  /** Large kmalloc blocks: head PFN → order. */
  private readonly large = new Map<number, number>();
  /** kmalloc_fix_flags() warnings (GFP_SLAB_BUG_MASK). */
  readonly warnings: string[] = [];

  constructor(private readonly pa: PageAllocator) {
    const nrCpus = pa.profile.nrCpus;
    // create_kmalloc_caches() (mm/slab_common.c, v6.x): per type in enum kmalloc_cache_type
    // order, kmalloc-96 and kmalloc-192 first, then the powers of two.
    for (const type of KMALLOC_TYPES) {
      const table: KmemCache[] = [];
      for (const index of [1, 2, ...range(KMALLOC_SHIFT_LOW, KMALLOC_SHIFT_HIGH)]) {
        const cache = new KmemCache(
          cacheName(type.prefix, index),
          cacheSize(index),
          type.allocFlags,
          nrCpus,
          type.reclaimable,
        );
        table[index] = cache;
        this.caches.push(cache);
      }
      this.tables.push(table);
    }
  }

  /** kmalloc(size, gfp): va48 of the object, ZERO_SIZE_PTR for 0, null when memory is short. */
  kmalloc(size: number, gfp: number): number | null {
    if (!Number.isSafeInteger(size) || size < 0)
      throw new InvalidArgumentError('size', size, 'must be a non-negative integer');
    validateGfp(gfp);
    if (gfp & GFP_SLAB_BUG_MASK) {
      // kmalloc_fix_flags(): "Unexpected gfp: %#x (%pGg). Fixing up to gfp: ..."
      this.warnings.push(
        `Unexpected gfp: 0x${(gfp & GFP_SLAB_BUG_MASK).toString(16)}. Fixing up to gfp: 0x${(gfp & ~GFP_SLAB_BUG_MASK).toString(16)}`,
      );
      gfp &= ~GFP_SLAB_BUG_MASK;
    }
    if (size === 0) return ZERO_SIZE_PTR;
    if (size > KMALLOC_MAX_CACHE_SIZE) return this.kmallocLarge(size, gfp);
    const index = kmallocIndex(size);
    const cache = this.tables[kmallocType(gfp)][index];
    return this.slabAlloc(cache, gfp);
  }

  private kmallocLarge(size: number, gfp: number): number | null {
    if (size > KMALLOC_MAX_SIZE) return null; // alloc_pages would warn about order > MAX_PAGE_ORDER
    const order = getOrder(size);
    const pfn = this.pa.allocPages(gfp | GFP.COMP, order);
    if (pfn === null) return null;
    this.pa.mem.setPageType(pfn, PageType.LargeKmalloc);
    this.large.set(pfn, order);
    this.pa.slabUnreclaimablePages += 1 << order;
    return this.pa.profile.pageOffset + pfn * PAGE_SIZE;
  }

  private slabAlloc(cache: KmemCache, gfp: number): number | null {
    let slab = cache.cpuSlab;
    if (slab === null || slab.freelist.length === 0) {
      slab = cache.partial.shift() ?? null;
      if (slab) slab.onPartial = false;
      else slab = this.newSlab(cache, gfp);
      if (slab === null) return null;
      cache.cpuSlab = slab;
    }
    const index = slab.freelist.pop() as number;
    slab.allocated[index] = 1;
    slab.inuse++;
    cache.liveObjects++;
    const paddr = slab.pfn * PAGE_SIZE + index * cache.size;
    if (gfp & GFP.ZERO) this.pa.ram.zero(paddr, cache.size);
    return this.pa.profile.pageOffset + paddr;
  }

  /** allocate_slab() (mm/slub.c): the cache's order first, then the minimum order that holds one object. */
  private newSlab(cache: KmemCache, gfp: number): Slab | null {
    const flags = (gfp & PASS_TO_PAGES) | cache.allocFlags;
    const minOrder = getOrder(cache.size); // s->min: one object
    let order = cache.order;
    // First try: no warning, no retrying, and no direct reclaim or reserves for a costlier order.
    let first = (flags | GFP.NOWARN | GFP.NORETRY) & ~GFP.NOFAIL;
    if (first & GFP.DIRECT_RECLAIM && order > minOrder) first = (first | GFP.NOMEMALLOC) & ~GFP.RECLAIM;
    let pfn = this.pa.allocPages(first | (order ? GFP.COMP : 0), order);
    if (pfn === null) {
      // Then the minimum order with the caller's own flags.
      order = minOrder;
      pfn = this.pa.allocPages(flags | (order ? GFP.COMP : 0), order);
      if (pfn === null) return null;
    }
    this.pa.mem.setFlag(pfn, PageFlag.Slab);
    const slab = new Slab(pfn, cache, order);
    this.slabs.set(pfn, slab);
    cache.nrSlabs++;
    this.pa.addSlabPages(cache.reclaimable, 1 << order);
    cache.totalObjects += slab.objects;
    return slab;
  }

  /** Find the live allocation at addr, or throw naming why it is not one. Changes nothing. */
  private lookup(addr: number, op: string): Lookup {
    const pa = this.pa;
    const p = pa.profile;
    if (!Number.isSafeInteger(addr) || addr < p.pageOffset || addr >= p.pageOffset + p.lowmemLimit) {
      throw new FailedPreconditionError(
        'addr',
        addr,
        `${op}: not a live kmalloc allocation (not a direct-map address)`,
      );
    }
    const paddr = addr - p.pageOffset;
    const pfn = Math.floor(paddr / PAGE_SIZE);
    const head = pa.mem.blockHead(pfn);
    const slab = pa.mem.testFlag(head, PageFlag.Slab) ? this.slabs.get(head) : undefined;
    if (slab) {
      const offset = paddr - head * PAGE_SIZE;
      const size = slab.cache.size;
      const index = Math.floor(offset / size);
      if (index >= slab.objects) {
        throw new FailedPreconditionError(
          'addr',
          addr,
          `${op}: not a live kmalloc allocation (past the last object of a ${slab.cache.name} slab)`,
        );
      }
      if (offset % size !== 0) {
        throw new FailedPreconditionError(
          'addr',
          addr,
          `${op}: not a live kmalloc allocation (points ${offset % size} bytes into a ${slab.cache.name} object)`,
        );
      }
      if (!slab.allocated[index]) {
        throw new FailedPreconditionError(
          'addr',
          addr,
          `${op}: not a live kmalloc allocation (${slab.cache.name} object is free: double free?)`,
        );
      }
      return { kind: 'slab', slab, index, paddr };
    }
    const order = this.large.get(head);
    if (order !== undefined && head === pfn && paddr % PAGE_SIZE === 0) return { kind: 'large', pfn, order };
    throw new FailedPreconditionError('addr', addr, `${op}: not a live kmalloc allocation`);
  }

  /** kfree(): NULL and ZERO_SIZE_PTR are no-ops; anything else must be a live kmalloc pointer. */
  kfree(addr: number): void {
    if (addr === 0 || addr === ZERO_SIZE_PTR) return;
    const found = this.lookup(addr, 'kfree');
    const pa = this.pa;
    if (found.kind === 'large') {
      const { pfn, order } = found;
      const mem = pa.mem;
      for (let i = pfn; i < pfn + (1 << order); i++) {
        if (mem.testFlag(i, PageFlag.Reserved))
          throw new FailedPreconditionError(
            'addr',
            addr,
            `kfree: bad page state: pfn 0x${i.toString(16)} still has PG_reserved (ClearPageReserved first)`,
          );
        if (mem.mapcount(i) > 0)
          throw new FailedPreconditionError(
            'addr',
            addr,
            `kfree: bad page state: pfn 0x${i.toString(16)} is still mapped`,
          );
      }
      mem.setPageType(pfn, null);
      this.large.delete(pfn);
      pa.slabUnreclaimablePages -= 1 << order;
      mem.refcount[pfn] = 0;
      pa.freeBlock(pfn, order);
      return;
    }
    const { slab, index } = found;
    const cache = slab.cache;
    const emptied = slab.inuse === 1;
    if (emptied) this.checkSlabPagesFreeable(slab, addr);
    slab.allocated[index] = 0;
    slab.freelist.push(index);
    slab.inuse--;
    cache.liveObjects--;
    if (emptied) {
      this.discardSlab(slab);
    } else if (slab !== cache.cpuSlab && !slab.onPartial) {
      slab.onPartial = true;
      cache.partial.unshift(slab);
    }
  }

  private checkSlabPagesFreeable(slab: Slab, addr: number): void {
    const mem = this.pa.mem;
    for (let i = slab.pfn; i < slab.pfn + (1 << slab.order); i++) {
      if (mem.testFlag(i, PageFlag.Reserved)) {
        throw new FailedPreconditionError(
          'addr',
          addr,
          `kfree: freeing the last object would free slab page 0x${i.toString(16)}, which still has PG_reserved`,
        );
      }
    }
  }

  private discardSlab(slab: Slab): void {
    const cache = slab.cache;
    if (cache.cpuSlab === slab) cache.cpuSlab = null;
    if (slab.onPartial) {
      cache.partial.splice(cache.partial.indexOf(slab), 1);
      slab.onPartial = false;
    }
    this.slabs.delete(slab.pfn);
    cache.nrSlabs--;
    const mem = this.pa.mem;
    mem.clearFlag(slab.pfn, PageFlag.Slab);
    this.pa.addSlabPages(cache.reclaimable, -(1 << slab.order));
    cache.totalObjects -= slab.objects;
    mem.refcount[slab.pfn] = 0;
    this.pa.freeBlock(slab.pfn, slab.order);
  }

  /** ksize(): usable size of a live allocation. */
  ksize(addr: number): number {
    if (addr === 0 || addr === ZERO_SIZE_PTR) return 0;
    const found = this.lookup(addr, 'ksize');
    return found.kind === 'slab' ? found.slab.cache.size : PAGE_SIZE << found.order;
  }

  /** Is addr the start of a live kmalloc object? */
  isLive(addr: number): boolean {
    try {
      this.lookup(addr, 'isLive');
      return true;
    } catch {
      return false;
    }
  }

  /** Live large-kmalloc blocks (for accounting and invariants). */
  largeBlocks(): ReadonlyMap<number, number> {
    return this.large;
  }

  allSlabs(): IterableIterator<Slab> {
    return this.slabs.values();
  }

  slabOf(pfn: number): Slab | undefined {
    return this.slabs.get(pfn);
  }
}
