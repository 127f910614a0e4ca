import { FailedPreconditionError, InvalidArgumentError } from './errors';
import { PAGE_FLAG_COUNT, PAGE_FLAG_NAMES, PAGE_TYPE_NAMES, PageFlag, PageType } from './page-flags';
import { validateOrder } from './orders';
import { MemMap } from './struct-page';

/**
 * The checks made on struct page before a state change: each throws a typed error naming the
 * field and the value, and none changes anything, so callers can validate a whole request
 * (or batch) first and mutate after.
 */

/** Flags a caller may not set or clear directly: they belong to the allocator and the slab. */
const ALLOCATOR_OWNED_FLAGS = new Set<PageFlag>([PageFlag.Head, PageFlag.Slab]);
/** Page types a caller may set (page-table pages, offline pages, debug guard pages). */
const CALLER_PAGE_TYPES = new Set<PageType>([PageType.Table, PageType.Offline, PageType.Guard]);

export function validatePfn(mem: MemMap, pfn: number, field = 'pfn'): void {
  if (!Number.isInteger(pfn) || pfn < 0 || pfn >= mem.nrPages) {
    throw new InvalidArgumentError(
      field,
      pfn,
      `must be an integer below max_pfn (0x${mem.nrPages.toString(16)})`,
    );
  }
}

export function checkFreeable(mem: MemMap, pfn: number, order: number, op: string): void {
  if (mem.isTail(pfn)) {
    throw new FailedPreconditionError(
      'pfn',
      pfn,
      `${op}: is a tail page of the block at pfn 0x${mem.privOrPrev[pfn].toString(16)}; free the head`,
    );
  }
  if (!mem.isManaged(pfn)) {
    throw new FailedPreconditionError(
      'pfn',
      pfn,
      `${op}: reserved at boot and never given to the allocator (use freeReservedPage)`,
    );
  }
  if (mem.refcount[pfn] === 0) {
    throw new FailedPreconditionError('pfn', pfn, `${op}: page is already free (double free)`);
  }
  const allocOrder = mem.order(pfn);
  if (allocOrder !== order) {
    throw new FailedPreconditionError(
      'order',
      order,
      `${op}: pfn 0x${pfn.toString(16)} was allocated with order ${allocOrder}`,
    );
  }
  if (mem.testFlag(pfn, PageFlag.Slab) || mem.pageType(pfn) === PageType.LargeKmalloc) {
    throw new FailedPreconditionError('pfn', pfn, `${op}: page belongs to kmalloc; use kfree`);
  }
  if (mem.refcount[pfn] === 1) checkBadPageOnFree(mem, pfn, 1 << order, op);
}

/** free_page_is_bad(): the final free of a page still PG_reserved or still mapped is refused. */
export function checkBadPageOnFree(mem: MemMap, pfn: number, nr: number, op: string): void {
  for (let i = pfn; i < pfn + nr; i++) {
    if (mem.testFlag(i, PageFlag.Reserved)) {
      throw new FailedPreconditionError(
        'pfn',
        i,
        `${op}: bad page state: PG_reserved is set (ClearPageReserved first)`,
      );
    }
    if (mem.mapcountOrNext[i] !== -1) {
      throw new FailedPreconditionError(
        'pfn',
        i,
        `${op}: bad page state: still mapped (mapcount ${mem.mapcountOrNext[i] + 1})`,
      );
    }
  }
}

/** The checks put_page makes before the last reference frees the page. */
export function checkLastPut(mem: MemMap, pfn: number, head: number): void {
  const compound = mem.testFlag(head, PageFlag.Head);
  const order = compound ? mem.order(head) : 0;
  if (!mem.isManaged(head))
    throw new FailedPreconditionError(
      'pfn',
      pfn,
      'putPage: last reference of a boot-reserved page (use freeReservedPage)',
    );
  if (!compound && mem.order(head) > 0) {
    throw new FailedPreconditionError(
      'pfn',
      pfn,
      `putPage: last reference of a non-compound order-${mem.order(head)} block would free only its first page; use freePages(pfn, ${mem.order(head)})`,
    );
  }
  if (mem.testFlag(head, PageFlag.Slab) || mem.pageType(head) === PageType.LargeKmalloc) {
    throw new FailedPreconditionError('pfn', pfn, 'putPage: page belongs to kmalloc; use kfree');
  }
  checkBadPageOnFree(mem, head, 1 << order, 'putPage');
}

export function refHead(mem: MemMap, pfn: number, op: string): number {
  validatePfn(mem, pfn);
  let head = pfn;
  if (mem.isTail(pfn)) {
    head = mem.privOrPrev[pfn];
    if (!mem.testFlag(head, PageFlag.Head)) {
      throw new FailedPreconditionError(
        'pfn',
        pfn,
        `${op}: tail of a non-compound block (head 0x${head.toString(16)}) has no refcount of its own`,
      );
    }
  }
  // get_page()/put_page() on a slab or large-kmalloc folio: WARN and no-op in Linux (6.16+).
  if (mem.testFlag(head, PageFlag.Slab) || mem.pageType(head) === PageType.LargeKmalloc) {
    throw new FailedPreconditionError(
      'pfn',
      pfn,
      `${op}: page belongs to kmalloc (slab or large_kmalloc folio); kmalloc memory is not reference counted`,
    );
  }
  return head;
}

export function requireInUse(mem: MemMap, pfn: number, op: string): void {
  validatePfn(mem, pfn);
  const head = mem.blockHead(pfn);
  if (mem.refcount[head] === 0 && mem.isManaged(head)) {
    throw new FailedPreconditionError('pfn', pfn, `${op}: page is free`);
  }
}

export function validateFlag(flag: PageFlag): void {
  if (!Number.isInteger(flag) || flag < 0 || flag >= PAGE_FLAG_COUNT) {
    throw new InvalidArgumentError('flag', flag, `must be a PageFlag (0..${PAGE_FLAG_COUNT - 1})`);
  }
}

export function checkFlagOp(mem: MemMap, pfn: number, flag: PageFlag, op: string): void {
  validatePfn(mem, pfn);
  validateFlag(flag);
  if (ALLOCATOR_OWNED_FLAGS.has(flag)) {
    throw new InvalidArgumentError(
      'flag',
      PAGE_FLAG_NAMES[flag],
      `${op}: PG_${PAGE_FLAG_NAMES[flag]} is managed by the allocator`,
    );
  }
  if (mem.isManaged(pfn) && mem.refcount[mem.blockHead(pfn)] === 0) {
    throw new FailedPreconditionError('pfn', pfn, `${op}: page is free`);
  }
}

function validateCallerType(type: PageType): void {
  if (!CALLER_PAGE_TYPES.has(type)) {
    throw new InvalidArgumentError(
      'type',
      type,
      'must be PageType.Table, PageType.Offline or PageType.Guard',
    );
  }
}

/** __SetPageTable and friends: an in-use, unmapped page without a type (page_type overlays _mapcount). */
export function checkSetPageType(mem: MemMap, pfn: number, type: PageType): void {
  validatePfn(mem, pfn);
  validateCallerType(type);
  requireInUse(mem, pfn, 'setPageType');
  const current = mem.pageType(pfn);
  if (current !== null)
    throw new FailedPreconditionError(
      'pfn',
      pfn,
      `setPageType: page already has type ${PAGE_TYPE_NAMES[current]}`,
    );
  if (mem.mapcount(pfn) > 0)
    throw new FailedPreconditionError(
      'pfn',
      pfn,
      'setPageType: page is mapped (page_type overlays _mapcount)',
    );
}

export function checkClearPageType(mem: MemMap, pfn: number, type: PageType): void {
  validatePfn(mem, pfn);
  validateCallerType(type);
  const current = mem.pageType(pfn);
  if (current !== type) {
    throw new FailedPreconditionError(
      'pfn',
      pfn,
      `clearPageType: page has type ${current === null ? 'none' : PAGE_TYPE_NAMES[current]}, not ${PAGE_TYPE_NAMES[type]}`,
    );
  }
}

/** split_page(): an allocated, non-compound, non-kmalloc head of exactly this order. */
export function checkSplitPage(mem: MemMap, pfn: number, order: number): void {
  validatePfn(mem, pfn);
  validateOrder(order);
  if (mem.isTail(pfn))
    throw new FailedPreconditionError('pfn', pfn, 'splitPage: is a tail page; pass the head');
  if (mem.refcount[pfn] === 0 || !mem.isManaged(pfn))
    throw new FailedPreconditionError('pfn', pfn, 'splitPage: page is not an allocated block');
  if (mem.testFlag(pfn, PageFlag.Head))
    throw new FailedPreconditionError(
      'pfn',
      pfn,
      'splitPage: compound page (split_page requires a non-compound block)',
    );
  if (mem.testFlag(pfn, PageFlag.Slab) || mem.pageType(pfn) === PageType.LargeKmalloc) {
    throw new FailedPreconditionError('pfn', pfn, 'splitPage: page belongs to kmalloc');
  }
  if (mem.order(pfn) !== order) {
    throw new FailedPreconditionError(
      'order',
      order,
      `splitPage: pfn 0x${pfn.toString(16)} was allocated with order ${mem.order(pfn)}`,
    );
  }
}

/** A byte range of RAM: non-negative integers, inside [0, memBytes). */
export function validatePhysRange(memBytes: number, paddr: number, length: number): void {
  if (!Number.isSafeInteger(paddr) || paddr < 0)
    throw new InvalidArgumentError('paddr', paddr, 'must be a non-negative integer');
  if (!Number.isSafeInteger(length) || length < 0)
    throw new InvalidArgumentError('length', length, 'must be a non-negative integer');
  if (paddr + length > memBytes) {
    throw new InvalidArgumentError(
      'paddr',
      paddr,
      `range of ${length} bytes ends beyond the end of RAM (0x${memBytes.toString(16)})`,
    );
  }
}
