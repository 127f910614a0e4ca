import { PAGE_SIZE } from '@pagemesh/uapi';
import { PAGE_ALLOC_COSTLY_ORDER, getOrder } from './orders';

/** MAX_OBJS_PER_PAGE (mm/slub.c): objects per slab fit in 15 bits. */
const MAX_OBJS_PER_PAGE = 32767;
/** slub_max_order default = PAGE_ALLOC_COSTLY_ORDER (mm/slub.c). */
export const SLUB_MAX_ORDER = PAGE_ALLOC_COSTLY_ORDER;

/** order_objects(): objects of this size in a slab of this order. */
function orderObjects(order: number, size: number): number {
  return Math.floor((PAGE_SIZE << order) / size);
}

/** fls(): position of the highest set bit, 1-based (fls(1) = 1, fls(0) = 0). */
export function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/** calc_slab_order(): smallest order from minOrder whose leftover is at most 1/fractLeftover of the slab. */
function calcSlabOrder(size: number, minOrder: number, maxOrder: number, fractLeftover: number): number {
  let order = minOrder;
  for (; order <= maxOrder; order++) {
    const slabSize = PAGE_SIZE << order;
    if (slabSize % size <= slabSize / fractLeftover) break;
  }
  return order;
}

/**
 * calculate_order() (mm/slub.c, v6.8+): aim for at least min_objects = 4 * (fls(nr_cpus) + 1)
 * objects per slab, without exceeding slub_max_order, accepting less waste first.
 */
export function calculateSlabOrder(size: number, nrCpus: number): number {
  let minObjects = 4 * (fls(nrCpus) + 1);
  const maxObjects = Math.max(orderObjects(SLUB_MAX_ORDER, size), 1);
  minObjects = Math.min(minObjects, maxObjects);
  const minOrder = getOrder(minObjects * size);
  if (orderObjects(minOrder, size) > MAX_OBJS_PER_PAGE) return getOrder(size * MAX_OBJS_PER_PAGE) - 1;
  for (let fraction = 16; fraction > 1; fraction /= 2) {
    const order = calcSlabOrder(size, minOrder, SLUB_MAX_ORDER, fraction);
    if (order <= SLUB_MAX_ORDER) return order;
  }
  const order = calcSlabOrder(size, getOrder(size), SLUB_MAX_ORDER, 1);
  return order <= SLUB_MAX_ORDER ? order : getOrder(size);
}

/** One slab: 2^order pages (PG_slab on the head) cut into objects of the cache's size. */
export class Slab {
  /** Free object indices; the last is handed out first (SLUB's LIFO freelist). */
  readonly freelist: number[];
  readonly allocated: Uint8Array;
  inuse = 0;
  /** On the cache's partial list (not full, not the cpu slab). */
  onPartial = false;

  /** Objects in this slab (the cache's geometry, or fewer for a fallback min-order slab). */
  readonly objects: number;

  constructor(
    readonly pfn: number,
    readonly cache: KmemCache,
    readonly order: number,
  ) {
    const n = orderObjects(order, cache.size);
    this.objects = n;
    this.freelist = new Array<number>(n);
    for (let i = 0; i < n; i++) this.freelist[i] = n - 1 - i;
    this.allocated = new Uint8Array(n);
  }
}

/**
 * struct kmem_cache for one kmalloc size class. The object size is the class size (SLUB puts
 * the free pointer inside the object, and kmalloc caches carry no metadata without debugging).
 */
export class KmemCache {
  readonly order: number;
  readonly objsPerSlab: number;
  /** c->slab: the slab allocations come from first. */
  cpuSlab: Slab | null = null;
  /** Partial slabs, most recently refilled first. */
  readonly partial: Slab[] = [];
  nrSlabs = 0;
  /** Objects handed out and not freed. */
  liveObjects = 0;
  /** Objects in all slabs (num_objs). */
  totalObjects = 0;

  constructor(
    readonly name: string,
    readonly size: number,
    /** GFP bits every slab allocation of this cache carries (GFP_DMA for dma-kmalloc-*). */
    readonly allocFlags: number,
    nrCpus: number,
    /** SLAB_RECLAIM_ACCOUNT: slab pages count as NR_SLAB_RECLAIMABLE_B (kmalloc-rcl-*). */
    readonly reclaimable = false,
  ) {
    this.order = calculateSlabOrder(size, nrCpus);
    this.objsPerSlab = orderObjects(this.order, size);
  }

  get pagesPerSlab(): number {
    return 1 << this.order;
  }

  /** Free objects sitting in partial slabs (SLUB's count_partial). */
  freeInPartial(): number {
    let n = 0;
    for (const s of this.partial) n += s.freelist.length;
    return n;
  }
}
