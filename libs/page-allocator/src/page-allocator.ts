import { PAGE_SHIFT, PAGE_SIZE } from '@pagemesh/uapi';
import { physToVirt, virtToPhys } from './address';
import { memblockFreeAll } from './boot';
import { BuddyAllocator } from './buddy-allocator';
import { FailedPreconditionError, InvalidArgumentError } from './errors';
import { GFP, GFP_VALID_MASK, GFP_ZONEMASK, formatGfp, gfpZone, validateGfp } from './gfp';
import { InvariantReport, checkInvariants } from './invariants';
import { Kmalloc } from './kmalloc';
import { kpageflagsDump, kpageflagsOf } from './kpageflags';
import { MachineConfig, MachineProfile, buildMachineProfile, validateMachineConfig } from './machine-profile';
import { MAX_PAGE_ORDER, validateOrder } from './orders';
import {
  checkClearPageType,
  checkFlagOp,
  checkFreeable,
  checkLastPut,
  checkSetPageType,
  checkSplitPage,
  refHead,
  requireInUse,
  validateFlag,
  validatePfn,
  validatePhysRange,
} from './page-checks';
import { PAGE_TYPE_NAMES, PageFlag, PageMapping, PageType } from './page-flags';
import { PageInfo, describePage } from './page-info';
import { procBuddyinfo } from './proc-buddyinfo';
import { procMeminfo } from './proc-meminfo';
import { procSlabinfo } from './proc-slabinfo';
import { procZoneinfo } from './proc-zoneinfo';
import { VM_EVENT_NAMES, procVmstat } from './proc-vmstat';
import { Ram } from './ram';
import {
  MemMap,
  NIL,
  NOT_MANAGED_BIT,
  ORDER_MASK,
  TAIL_BIT,
  TYPE_MASK,
  ZONE_MASK,
  ZONE_SHIFT,
} from './struct-page';
import {
  ALLOC_MIN_RESERVE,
  ALLOC_NO_WATERMARKS,
  ALLOC_WMARK_LOW,
  ALLOC_WMARK_MASK,
  calculateMinFreeKbytes,
  gfpPfmemallocFlags,
  gfpToAllocFlags,
  setupPerZoneLowmemReserve,
  setupPerZoneWmarks,
  totalReservePages,
  zoneWatermarkOk,
} from './watermarks';
import { NR_PAGE_ORDERS, ZoneState } from './zone';
import { Zone } from './zone-type';

export type { PageInfo } from './page-info';

/** The reference operations changePageRefs() batches. */
export type PageRefOp = 'get' | 'put' | 'mapcountInc' | 'mapcountDec';

export interface PageCounters {
  totalPages: number;
  managedPages: number;
  freePages: number;
  allocatedPages: number;
  reservedPages: number;
  slabPages: number;
  vmallocPages: number;
}

/** One allocation failure that the kernel would have warned about ("page allocation failure"). */
export interface AllocFailure {
  gfp: number;
  order: number;
  message: string;
}

const MAX_RECORDED_FAILURES = 64;
/** Flag bits that send a free down the checked path: tail, boot-reserved, PG_reserved, PG_slab, PG_head, any page type, a non-zero order. */
const FREE_FAST_MASK =
  TAIL_BIT |
  NOT_MANAGED_BIT |
  (1 << PageFlag.Reserved) |
  (1 << PageFlag.Slab) |
  (1 << PageFlag.Head) |
  TYPE_MASK |
  ORDER_MASK;

/**
 * Physical memory of one machine: mem_map, zones, the buddy allocator, the bytes of RAM.
 * Synchronous and single-threaded. Every public method validates its arguments and the page
 * state before it changes anything; a DomainError means nothing changed.
 */
export class PageAllocator {
  readonly profile: MachineProfile;
  readonly mem: MemMap;
  readonly zones: readonly ZoneState[];
  readonly buddy: BuddyAllocator;
  readonly ram = new Ram();
  /** vm.min_free_kbytes in effect. */
  readonly minFreeKbytes: number;
  /** Allocation failures without __GFP_NOWARN, newest last (at most 64 kept). */
  readonly allocFailures: AllocFailure[] = [];
  /** Pages backing vmalloc areas, reported by the mmu (VmallocUsed). */
  vmallocPages = 0;
  /** Committed_AS in pages, reported by the vma-manager. */
  committedAsPages = 0;
  /** Kernel stacks in kB (KernelStack), reported by whoever models tasks. */
  kernelStackKb = 0;
  /** Slab / large-kmalloc unreclaimable pages (NR_SLAB_UNRECLAIMABLE_B in pages). */
  slabUnreclaimablePages = 0;
  /** Pages of SLAB_RECLAIM_ACCOUNT slabs, kmalloc-rcl-* (NR_SLAB_RECLAIMABLE_B in pages). */
  slabReclaimablePages = 0;

  /** PGALLOC event counter per zone index (pages allocated from that zone). */
  readonly pgalloc: Float64Array;
  /** PGFREE event counter (pages freed). */
  pgfree = 0;
  /** Other vm_event_item counters reported by the layers above (pgfault, pgmajfault ...). */
  readonly vmEvents = new Map<string, number>();

  /** The kmalloc caches (SLUB-style) built on this allocator. */
  readonly slab: Kmalloc;

  private readonly zoneIdxOfZone: Int8Array;
  /** gfp & GFP_ZONEMASK → highest zone index, -1 for GFP_ZONE_BAD (the hot-path form of gfp_zone). */
  private readonly gfpZoneIdx: Int8Array;
  private readonly zonelists: Int32Array[];
  private readonly configured: ReadonlySet<Zone>;

  constructor(config: MachineConfig) {
    this.profile = buildMachineProfile(config);
    const p = this.profile;
    this.mem = new MemMap(p.maxPfn);
    this.zones = p.zones.map(
      (s, i) => new ZoneState(i, s.zone, s.name, s.startPfn, s.endPfn, p.zones.length),
    );
    this.buddy = new BuddyAllocator(this.mem, this.zones);
    this.pgalloc = new Float64Array(this.zones.length);
    this.zoneIdxOfZone = new Int8Array(8).fill(-1);
    this.zones.forEach((z, i) => (this.zoneIdxOfZone[z.zone] = i));
    this.configured = new Set(this.zones.map((z) => z.zone));
    this.gfpZoneIdx = new Int8Array(16).fill(-1);
    for (let bits = 0; bits < 16; bits++) {
      try {
        this.gfpZoneIdx[bits] = this.zoneIdxOfZone[gfpZone(bits, this.configured)];
      } catch {
        // GFP_ZONE_BAD: stays -1, gfpZone() throws the descriptive error
      }
    }
    // zonelist for each highest zone index: populated zones at or below it, highest first.
    this.zonelists = this.zones.map((_, hi) =>
      Int32Array.from(
        this.zones
          .slice(0, hi + 1)
          .filter((z) => z.populated)
          .map((z) => z.index)
          .reverse(),
      ),
    );
    memblockFreeAll(this.mem, this.buddy, this.zones, p, this.zoneIdxOfZone);
    this.pgfree = this.managedPages; // __free_pages_ok() counts PGFREE for the boot frees too
    const computed = calculateMinFreeKbytes(this.zones);
    this.minFreeKbytes = p.minFreeKbytes ?? computed;
    setupPerZoneWmarks(this.zones, this.minFreeKbytes);
    setupPerZoneLowmemReserve(this.zones);
    this.slab = new Kmalloc(this);
  }

  // ---------------------------------------------------------------- counters

  /** Pages of RAM (present pages). */
  get totalPages(): number {
    return this.profile.maxPfn;
  }
  /** totalram_pages(): pages handed to the allocator (MemTotal). */
  get managedPages(): number {
    let n = 0;
    for (const z of this.zones) n += z.managedPages;
    return n;
  }
  /** NR_FREE_PAGES (MemFree). Named nrFreePages because freePages() is __free_pages. */
  get nrFreePages(): number {
    let n = 0;
    for (const z of this.zones) n += z.freePages;
    return n;
  }
  /** Pages never handed to the allocator (boot reservations still held). */
  get reservedPages(): number {
    return this.totalPages - this.managedPages;
  }
  /** Managed pages currently allocated. */
  get allocatedPages(): number {
    return this.managedPages - this.nrFreePages;
  }

  /** All page counters at once (freePages = NR_FREE_PAGES). */
  counters(): PageCounters {
    return {
      totalPages: this.totalPages,
      managedPages: this.managedPages,
      freePages: this.nrFreePages,
      allocatedPages: this.allocatedPages,
      reservedPages: this.reservedPages,
      slabPages: this.slabUnreclaimablePages + this.slabReclaimablePages,
      vmallocPages: this.vmallocPages,
    };
  }
  /** calculate_totalreserve_pages() */
  get totalReservePages(): number {
    return totalReservePages(this.zones);
  }

  /** Slab page accounting (mod_node_page_state of NR_SLAB_(UN)RECLAIMABLE_B), used by kmalloc. */
  addSlabPages(reclaimable: boolean, delta: number): void {
    if (reclaimable) this.slabReclaimablePages += delta;
    else this.slabUnreclaimablePages += delta;
  }

  /** count_vm_events(): let the layers above count events shown in /proc/vmstat (e.g. 'pgfault'). */
  countVmEvent(name: string, delta = 1): void {
    if (!VM_EVENT_NAMES.has(name))
      throw new InvalidArgumentError(
        'name',
        name,
        'is not a /proc/vmstat event of the reference configuration',
      );
    if (!Number.isSafeInteger(delta) || delta < 0)
      throw new InvalidArgumentError('delta', delta, 'must be a non-negative integer');
    this.vmEvents.set(name, (this.vmEvents.get(name) ?? 0) + delta);
  }

  /** Let the mmu report vmalloc backing pages (VmallocUsed). */
  addVmallocPages(delta: number): void {
    if (!Number.isInteger(delta) || this.vmallocPages + delta < 0) {
      throw new InvalidArgumentError(
        'delta',
        delta,
        `would make VmallocUsed negative (now ${this.vmallocPages} pages)`,
      );
    }
    this.vmallocPages += delta;
  }

  /** Let the vma-manager report vm_committed_as changes (Committed_AS). */
  addCommittedPages(delta: number): void {
    if (!Number.isInteger(delta) || this.committedAsPages + delta < 0) {
      throw new InvalidArgumentError(
        'delta',
        delta,
        `would make Committed_AS negative (now ${this.committedAsPages} pages)`,
      );
    }
    this.committedAsPages += delta;
  }

  // ---------------------------------------------------------------- allocation

  /** gfp_zone() as a zone index of this machine. */
  highestZoneIdx(gfp: number): number {
    const idx = this.gfpZoneIdx[gfp & GFP_ZONEMASK];
    return idx >= 0 ? idx : this.zoneIdxOfZone[gfpZone(gfp, this.configured)];
  }

  /**
   * alloc_pages(gfp, order): head PFN, or null when nothing fits (the kernel's NULL, -ENOMEM).
   * Fast path at the low watermark, then the slow path at min (less for __GFP_HIGH and
   * non-blocking callers, none for __GFP_MEMALLOC). There is no reclaim to wait for.
   */
  allocPages(gfp: number, order: number): number | null {
    if (typeof gfp !== 'number' || (gfp & GFP_VALID_MASK) !== gfp) validateGfp(gfp);
    if (typeof order !== 'number' || !(order >= 0 && order <= MAX_PAGE_ORDER && (order | 0) === order))
      validateOrder(order);
    let highest = this.gfpZoneIdx[gfp & GFP_ZONEMASK];
    if (highest < 0) highest = this.highestZoneIdx(gfp); // GFP_ZONE_BAD: throws
    const pfn = this.allocPfn(gfp, order, highest);
    if (pfn === NIL) {
      this.recordFailure(gfp, order);
      return null;
    }
    if (order === 0 && (gfp & GFP.ZERO) === 0) {
      this.mem.refcount[pfn] = 1; // order bits are already 0 on a page fresh from the lists
    } else {
      this.prepNewPage(pfn, order, gfp);
    }
    return pfn;
  }

  /** alloc_pages_bulk-style: up to count blocks, stopping at the first failure. */
  allocPagesBulk(gfp: number, order: number, count: number): number[] {
    validateGfp(gfp);
    validateOrder(order);
    if (!Number.isInteger(count) || count < 0)
      throw new InvalidArgumentError('count', count, 'must be a non-negative integer');
    const highest = this.highestZoneIdx(gfp);
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const pfn = this.allocPfn(gfp, order, highest);
      if (pfn === NIL) {
        this.recordFailure(gfp, order);
        break;
      }
      this.prepNewPage(pfn, order, gfp);
      out.push(pfn);
    }
    return out;
  }

  private allocPfn(gfp: number, order: number, highest: number): number {
    let pfn = this.getPageFromFreelist(order, ALLOC_WMARK_LOW, highest);
    if (pfn !== NIL) return pfn;
    const allocFlags = gfpToAllocFlags(gfp);
    pfn = this.getPageFromFreelist(order, allocFlags, highest);
    if (pfn !== NIL) return pfn;
    const reserve = gfpPfmemallocFlags(gfp);
    if (reserve) pfn = this.getPageFromFreelist(order, allocFlags | reserve, highest);
    if (pfn === NIL && gfp & GFP.NOFAIL) {
      // __GFP_NOFAIL: some access to the high-priority reserves (ALLOC_MIN_RESERVE), never
      // ALLOC_NO_WATERMARKS. The kernel would then retry forever; with no reclaim to wait for,
      // this model gives up and returns null.
      pfn = this.getPageFromFreelist(order, allocFlags | ALLOC_MIN_RESERVE, highest);
    }
    return pfn;
  }

  /** get_page_from_freelist(): first zone of the zonelist that passes its watermark and has a block. */
  private getPageFromFreelist(order: number, allocFlags: number, highest: number): number {
    const zonelist = this.zonelists[highest];
    const nrFree = this.buddy.nrFree;
    for (let i = 0; i < zonelist.length; i++) {
      const zi = zonelist[i];
      const z = this.zones[zi];
      if (!(allocFlags & ALLOC_NO_WATERMARKS)) {
        const mark = z.watermark[allocFlags & ALLOC_WMARK_MASK];
        // zone_watermark_fast(): order-0 requests without reserves need only free > mark + reserve
        const fast =
          order === 0 && allocFlags === ALLOC_WMARK_LOW && z.freePages > mark + z.lowmemReserve[highest];
        if (!fast && !zoneWatermarkOk(z, order, mark, highest, allocFlags, nrFree, zi * NR_PAGE_ORDERS))
          continue;
      }
      const pfn = this.buddy.rmqueueSmallest(zi, order);
      if (pfn !== NIL) {
        this.pgalloc[zi] += 1 << order; // PGALLOC, per zone
        return pfn;
      }
    }
    return NIL;
  }

  /** post_alloc_hook + prep_new_page: refcount 1, compound metadata, zeroing. */
  private prepNewPage(pfn: number, order: number, gfp: number): void {
    const mem = this.mem;
    mem.refcount[pfn] = 1;
    mem.setOrder(pfn, order);
    const nr = 1 << order;
    if (nr > 1) {
      const flags = mem.flags;
      const priv = mem.privOrPrev;
      for (let i = pfn + 1; i < pfn + nr; i++) {
        flags[i] |= TAIL_BIT;
        priv[i] = pfn;
      }
      if (gfp & GFP.COMP) mem.setFlag(pfn, PageFlag.Head);
    }
    if (gfp & GFP.ZERO) this.ram.zeroFrames(pfn, nr);
  }

  private recordFailure(gfp: number, order: number): void {
    if (gfp & GFP.NOWARN) return;
    // warn_alloc(): "%s: page allocation failure: order:%u, mode:%#x(%pGg), nodemask=(null)"
    const message = `page allocation failure: order:${order}, mode:0x${gfp.toString(16)}(${formatGfp(gfp)}), nodemask=(null)`;
    this.allocFailures.push({ gfp, order, message });
    if (this.allocFailures.length > MAX_RECORDED_FAILURES) this.allocFailures.shift();
  }

  // ---------------------------------------------------------------- freeing

  /**
   * __free_pages(page, order). The order must be the allocation order (checked here, unlike
   * the kernel, which cannot tell). With other references still held, only the reference is
   * dropped; for a non-compound block the kernel then frees all but the first page, and so
   * does this.
   */
  freePages(pfn: number, order: number): void {
    const mem = this.mem;
    // Fast path: an in-range head allocated with this order, one reference, no special state.
    if (typeof pfn === 'number' && pfn >= 0 && pfn < mem.nrPages && order === 0 && (pfn | 0) === pfn) {
      const f = mem.flags[pfn];
      if ((f & FREE_FAST_MASK) === 0 && mem.refcount[pfn] === 1 && mem.mapcountOrNext[pfn] === -1) {
        mem.refcount[pfn] = 0;
        mem.flags[pfn] = f & ZONE_MASK;
        this.buddy.freeOneBlock(this.zoneIdxOfZone[f >>> ZONE_SHIFT], pfn, 0, false);
        this.pgfree++;
        return;
      }
    }
    this.validatePfn(pfn);
    validateOrder(order);
    checkFreeable(this.mem, pfn, order, 'freePages');
    this.doFreePages(pfn, order);
  }

  /** Free many blocks of one order; all are validated (including duplicates) before any is freed. */
  freePagesBulk(pfns: readonly number[], order: number): void {
    validateArray('pfns', pfns);
    validateOrder(order);
    const seen = new Set<number>();
    for (const pfn of pfns) {
      this.validatePfn(pfn);
      if (seen.has(pfn))
        throw new FailedPreconditionError('pfn', pfn, 'appears twice in the batch (double free)');
      seen.add(pfn);
      checkFreeable(this.mem, pfn, order, 'freePagesBulk');
    }
    for (const pfn of pfns) this.doFreePages(pfn, order);
  }

  private doFreePages(pfn: number, order: number): void {
    const mem = this.mem;
    if (--mem.refcount[pfn] > 0) {
      if (order > 0 && !mem.testFlag(pfn, PageFlag.Head)) {
        // __free_pages(): the first page stays with its holders, the rest goes back.
        mem.setOrder(pfn, 0);
        for (let o = order - 1; o >= 0; o--) this.freeBlock(pfn + (1 << o), o);
      }
      return;
    }
    this.freeBlock(pfn, order);
  }

  /** Return an allocated block to the buddy lists (FPI_NONE). No checks: callers validated. */
  freeBlock(pfn: number, order: number): void {
    const mem = this.mem;
    const nr = 1 << order;
    for (let i = pfn; i < pfn + nr; i++) mem.resetFreePage(i);
    const zi = this.zoneIdxOfZone[mem.zone(pfn)];
    this.buddy.freeOneBlock(zi, pfn, order, false);
    this.pgfree += nr;
  }

  /** free_reserved_page(): hand a page reserved at boot to the allocator (ClearPageReserved, managed++). */
  freeReservedPage(pfn: number): void {
    this.validatePfn(pfn);
    const mem = this.mem;
    if (mem.isManaged(pfn))
      throw new FailedPreconditionError('pfn', pfn, 'freeReservedPage: page is not a boot reservation');
    if (mem.refcount[pfn] !== 1 || mem.mapcountOrNext[pfn] !== -1) {
      throw new FailedPreconditionError(
        'pfn',
        pfn,
        `freeReservedPage: page is in use (refcount ${mem.refcount[pfn]}, mapcount ${mem.mapcount(pfn)})`,
      );
    }
    mem.flags[pfn] &= ~NOT_MANAGED_BIT;
    const zi = this.zoneIdxOfZone[mem.zone(pfn)];
    this.zones[zi].managedPages++;
    this.freeBlock(pfn, 0);
  }

  // ---------------------------------------------------------------- references

  /** get_page(): a reference on the page (on the head for a compound tail). */
  getPage(pfn: number): void {
    const head = refHead(this.mem, pfn, 'getPage');
    if (this.mem.refcount[head] === 0)
      throw new FailedPreconditionError('pfn', pfn, 'getPage: page is free (refcount 0)');
    this.mem.refcount[head]++;
  }

  /** put_page(): drop a reference; the last one frees the page (compound: the whole folio). */
  putPage(pfn: number): void {
    const mem = this.mem;
    const head = refHead(this.mem, pfn, 'putPage');
    const count = mem.refcount[head];
    if (count === 0)
      throw new FailedPreconditionError(
        'pfn',
        pfn,
        'putPage: refcount underflow (page already has refcount 0)',
      );
    if (count === 1) {
      checkLastPut(this.mem, pfn, head);
      const order = mem.testFlag(head, PageFlag.Head) ? mem.order(head) : 0;
      mem.refcount[head] = 0;
      this.freeBlock(head, order);
      return;
    }
    mem.refcount[head] = count - 1;
  }

  /**
   * A batch of get_page / put_page / mapcount changes, all or nothing: the whole batch is
   * checked (duplicates included, in order) before any is applied. Returns, per element, whether
   * that element freed its page (only a put can).
   */
  changePageRefs(op: PageRefOp, pfns: readonly number[]): boolean[] {
    validateArray('pfns', pfns);
    if (op !== 'get' && op !== 'put' && op !== 'mapcountInc' && op !== 'mapcountDec') {
      throw new InvalidArgumentError('op', op, "must be 'get', 'put', 'mapcountInc' or 'mapcountDec'");
    }
    const mem = this.mem;
    if (op === 'get' || op === 'put') {
      const refs = new Map<number, number>();
      for (const pfn of pfns) {
        const head = refHead(this.mem, pfn, op === 'get' ? 'getPage' : 'putPage');
        const count = refs.get(head) ?? mem.refcount[head];
        if (count === 0) {
          throw new FailedPreconditionError(
            'pfn',
            pfn,
            op === 'get'
              ? 'getPage: page is free (refcount 0)'
              : 'putPage: refcount underflow (page already has refcount 0)',
          );
        }
        if (op === 'put' && count === 1) checkLastPut(this.mem, pfn, head);
        refs.set(head, op === 'get' ? count + 1 : count - 1);
      }
    } else {
      const maps = new Map<number, number>();
      for (const pfn of pfns) {
        requireInUse(this.mem, pfn, op === 'mapcountInc' ? 'pageMapcountInc' : 'pageMapcountDec');
        const count = maps.get(pfn) ?? mem.mapcount(pfn);
        if (op === 'mapcountInc') {
          const type = mem.pageType(pfn);
          if (type !== null)
            throw new FailedPreconditionError(
              'pfn',
              pfn,
              `pageMapcountInc: page has type ${PAGE_TYPE_NAMES[type]} and cannot be mapped`,
            );
        } else if (count <= 0) {
          throw new FailedPreconditionError(
            'pfn',
            pfn,
            'pageMapcountDec: mapcount underflow (page is not mapped)',
          );
        }
        maps.set(pfn, op === 'mapcountInc' ? count + 1 : count - 1);
      }
    }
    return pfns.map((pfn) => {
      switch (op) {
        case 'get':
          this.getPage(pfn);
          return false;
        case 'put': {
          const head = mem.blockHead(pfn);
          this.putPage(pfn);
          return mem.refcount[head] === 0;
        }
        case 'mapcountInc':
          this.pageMapcountInc(pfn);
          return false;
        default:
          this.pageMapcountDec(pfn);
          return false;
      }
    });
  }

  /** virt_to_page(): the PFN of a direct-map address (pages are named by PFN here). */
  virtToPage(va: number): number {
    return this.virtToPfn(va);
  }

  /** page_count(): the folio's refcount for a compound page. */
  pageCount(pfn: number): number {
    this.validatePfn(pfn);
    const mem = this.mem;
    return mem.isCompoundTail(pfn) ? mem.refcount[mem.privOrPrev[pfn]] : mem.refcount[pfn];
  }

  /** page_mapcount(): _mapcount + 1 */
  pageMapcount(pfn: number): number {
    this.validatePfn(pfn);
    return this.mem.mapcount(pfn);
  }

  /** One more PTE maps this page (the mmu calls it when it maps a normal page). */
  pageMapcountInc(pfn: number): void {
    requireInUse(this.mem, pfn, 'pageMapcountInc');
    const type = this.mem.pageType(pfn);
    if (type !== null)
      throw new FailedPreconditionError(
        'pfn',
        pfn,
        `pageMapcountInc: page has type ${PAGE_TYPE_NAMES[type]} and cannot be mapped`,
      );
    this.mem.mapcountOrNext[pfn]++;
  }

  pageMapcountDec(pfn: number): void {
    requireInUse(this.mem, pfn, 'pageMapcountDec');
    if (this.mem.mapcount(pfn) <= 0)
      throw new FailedPreconditionError(
        'pfn',
        pfn,
        'pageMapcountDec: mapcount underflow (page is not mapped)',
      );
    this.mem.mapcountOrNext[pfn]--;
  }

  // ---------------------------------------------------------------- flags, types, mapping

  setPageFlag(pfn: number, flag: PageFlag): void {
    checkFlagOp(this.mem, pfn, flag, 'setPageFlag');
    this.mem.setFlag(pfn, flag);
  }

  clearPageFlag(pfn: number, flag: PageFlag): void {
    checkFlagOp(this.mem, pfn, flag, 'clearPageFlag');
    this.mem.clearFlag(pfn, flag);
  }

  testPageFlag(pfn: number, flag: PageFlag): boolean {
    this.validatePfn(pfn);
    validateFlag(flag);
    return this.mem.testFlag(pfn, flag);
  }

  /** Set one flag on many pages: every PFN is checked before any flag changes. */
  setPageFlags(pfns: readonly number[], flag: PageFlag): void {
    validateArray('pfns', pfns);
    for (const pfn of pfns) checkFlagOp(this.mem, pfn, flag, 'setPageFlags');
    for (const pfn of pfns) this.mem.setFlag(pfn, flag);
  }

  /** Clear one flag on many pages: every PFN is checked before any flag changes. */
  clearPageFlags(pfns: readonly number[], flag: PageFlag): void {
    validateArray('pfns', pfns);
    for (const pfn of pfns) checkFlagOp(this.mem, pfn, flag, 'clearPageFlags');
    for (const pfn of pfns) this.mem.clearFlag(pfn, flag);
  }

  testPageFlags(pfns: readonly number[], flag: PageFlag): boolean[] {
    validateArray('pfns', pfns);
    validateFlag(flag);
    for (const pfn of pfns) this.validatePfn(pfn);
    return pfns.map((pfn) => this.mem.testFlag(pfn, flag));
  }

  /** SetPageReserved / ClearPageReserved, as drivers call them. */
  setPageReserved(pfn: number): void {
    this.setPageFlag(pfn, PageFlag.Reserved);
  }
  clearPageReserved(pfn: number): void {
    this.clearPageFlag(pfn, PageFlag.Reserved);
  }

  /** __SetPageTable etc.: mark a page as a page-table page (counted in PageTables). */
  setPageType(pfn: number, type: PageType): void {
    checkSetPageType(this.mem, pfn, type);
    this.mem.setPageType(pfn, type);
  }

  clearPageType(pfn: number, type: PageType): void {
    checkClearPageType(this.mem, pfn, type);
    this.mem.setPageType(pfn, null);
  }

  pageType(pfn: number): PageType | null {
    this.validatePfn(pfn);
    return this.mem.pageType(pfn);
  }

  /** page->mapping: anon (PAGE_MAPPING_ANON), file, or none. */
  setPageMapping(pfn: number, mapping: PageMapping): void {
    if (mapping !== 'anon' && mapping !== 'file' && mapping !== 'none') {
      throw new InvalidArgumentError('mapping', mapping, "must be 'anon', 'file' or 'none'");
    }
    requireInUse(this.mem, pfn, 'setPageMapping');
    this.mem.setMapping(pfn, mapping);
  }

  pageMapping(pfn: number): PageMapping {
    this.validatePfn(pfn);
    return this.mem.mapping(pfn);
  }

  /** split_page(): a non-compound order-N block becomes 2^N independent order-0 pages, each refcount 1. */
  splitPage(pfn: number, order: number): void {
    checkSplitPage(this.mem, pfn, order);
    const mem = this.mem;
    for (let i = pfn + 1; i < pfn + (1 << order); i++) {
      mem.flags[i] &= ~TAIL_BIT;
      mem.privOrPrev[i] = 0;
      mem.refcount[i] = 1;
    }
    mem.setOrder(pfn, 0);
  }

  // ---------------------------------------------------------------- RAM contents

  /** Read bytes of RAM (at most MAX_PHYS_READ per call: the copy is materialised). */
  readPhys(paddr: number, length: number): Uint8Array {
    this.validatePhysRange(paddr, length);
    checkReadSize(length);
    return this.ram.read(paddr, length);
  }

  writePhys(paddr: number, bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array))
      throw new InvalidArgumentError('bytes', typeof bytes, 'must be a Uint8Array');
    this.validatePhysRange(paddr, bytes.length);
    this.ram.write(paddr, bytes);
  }

  /** Many reads in one call (validated first). */
  readPhysBatch(ranges: ReadonlyArray<{ paddr: number; length: number }>): Uint8Array[] {
    validateArray('ranges', ranges);
    for (const r of ranges) {
      if (typeof r !== 'object' || r === null)
        throw new InvalidArgumentError('ranges', typeof r, 'each element must be { paddr, length }');
      this.validatePhysRange(r.paddr, r.length);
    }
    checkReadSize(ranges.reduce((n, r) => n + r.length, 0));
    return ranges.map((r) => this.ram.read(r.paddr, r.length));
  }

  /** Many writes in one call: all validated before any is applied, applied in order. */
  writePhysBatch(writes: ReadonlyArray<{ paddr: number; bytes: Uint8Array }>): void {
    validateArray('writes', writes);
    for (const w of writes) {
      if (typeof w !== 'object' || w === null)
        throw new InvalidArgumentError('writes', typeof w, 'each element must be { paddr, bytes }');
      if (!(w.bytes instanceof Uint8Array))
        throw new InvalidArgumentError('bytes', typeof w.bytes, 'must be a Uint8Array');
      this.validatePhysRange(w.paddr, w.bytes.length);
    }
    for (const w of writes) this.ram.write(w.paddr, w.bytes);
  }

  /** clear_page() over a page-aligned physical range (paddr and length multiples of PAGE_SIZE). */
  clearPages(paddr: number, length: number): void {
    this.validatePhysRange(paddr, length);
    if (paddr % PAGE_SIZE !== 0)
      throw new InvalidArgumentError('paddr', paddr, `must be page aligned (PAGE_SIZE ${PAGE_SIZE})`);
    if (length % PAGE_SIZE !== 0)
      throw new InvalidArgumentError('length', length, `must be a multiple of PAGE_SIZE (${PAGE_SIZE})`);
    this.ram.zeroFrames(paddr / PAGE_SIZE, length / PAGE_SIZE);
  }

  /** memset(0) over a physical range. */
  zeroPhys(paddr: number, length: number): void {
    this.validatePhysRange(paddr, length);
    this.ram.zero(paddr, length);
  }

  /** clear_page() */
  clearPage(pfn: number): void {
    this.validatePfn(pfn);
    this.ram.zeroFrames(pfn, 1);
  }

  /** copy_page() */
  copyPage(dstPfn: number, srcPfn: number): void {
    this.validatePfn(dstPfn, 'dstPfn');
    this.validatePfn(srcPfn, 'srcPfn');
    this.ram.copyFrame(dstPfn, srcPfn);
  }

  private validatePhysRange(paddr: number, length: number): void {
    validatePhysRange(this.profile.memBytes, paddr, length);
  }

  // ---------------------------------------------------------------- address conversion

  validatePfn(pfn: number, field = 'pfn'): void {
    validatePfn(this.mem, pfn, field);
  }

  /**
   * __pa(): direct-map (lowmem) addresses only; on x86_64 also the kernel text mapping
   * (__START_KERNEL_map maps physical 0, phys_base 0 without KASLR).
   */
  virtToPhys(va: number): number {
    return virtToPhys(this.profile, va);
  }

  /** __va(): lowmem physical addresses only. */
  physToVirt(pa: number): number {
    return physToVirt(this.profile, pa);
  }

  /** virt_to_pfn() / page_to_pfn(virt_to_page()) */
  virtToPfn(va: number): number {
    return Math.floor(this.virtToPhys(va) / PAGE_SIZE);
  }

  /** virt_to_pfn() for many addresses; all are checked before any result is returned. */
  virtToPfns(addrs: readonly number[]): number[] {
    validateArray('addrs', addrs);
    return addrs.map((va) => this.virtToPfn(va));
  }

  /** page_address(): null for highmem (no permanent mapping). */
  pageAddress(pfn: number): number | null {
    this.validatePfn(pfn);
    if (pfn >= this.profile.maxLowPfn) return null;
    return this.profile.pageOffset + pfn * PAGE_SIZE;
  }

  pfnToVirt(pfn: number): number | null {
    return this.pageAddress(pfn);
  }

  /** PFN_PHYS */
  pfnToPhys(pfn: number): number {
    this.validatePfn(pfn);
    return pfn * 2 ** PAGE_SHIFT;
  }

  // ---------------------------------------------------------------- inspection

  /** PFN of empty_zero_page (PG_reserved, in the kernel image). */
  get zeroPagePfn(): number {
    return this.profile.zeroPagePfn;
  }

  /** Is the page free (in a buddy block)? */
  isFree(pfn: number): boolean {
    this.validatePfn(pfn);
    const mem = this.mem;
    return mem.isManaged(pfn) && !mem.isTail(pfn) && mem.refcount[pfn] === 0;
  }

  /** A display/rpc snapshot of one struct page. */
  page(pfn: number): PageInfo {
    this.validatePfn(pfn);
    return describePage(this, pfn);
  }

  /** Throws InvariantViolationError when the allocator state is inconsistent (O(pages): tests). */
  checkInvariants(): InvariantReport {
    return checkInvariants(this);
  }

  procBuddyinfo(): string {
    return procBuddyinfo(this);
  }

  procMeminfo(): string {
    return procMeminfo(this);
  }

  procZoneinfo(): string {
    return procZoneinfo(this);
  }

  procVmstat(): string {
    return procVmstat(this);
  }

  procSlabinfo(): string {
    return procSlabinfo(this.slab);
  }

  /** /proc/kpageflags words (KPF_* bits) for count PFNs from pfn. */
  kpageflags(pfn: number, count: number): number[] {
    this.validatePfnRange(pfn, count);
    const out = new Array<number>(count);
    for (let i = 0; i < count; i++) out[i] = kpageflagsOf(this, pfn + i);
    return out;
  }

  /** /proc/kpagecount (fs/proc/page.c): the mapcount of each of count PFNs from pfn (0 when unmapped or free). */
  kpagecount(pfn: number, count: number): number[] {
    this.validatePfnRange(pfn, count);
    const out = new Array<number>(count);
    for (let i = 0; i < count; i++) out[i] = this.mem.mapcount(pfn + i);
    return out;
  }

  /** page-types -l style text dump of count PFNs from pfn. */
  kpageflagsDump(pfn: number, count: number): string {
    return kpageflagsDump(pfn, this.kpageflags(pfn, count));
  }

  private validatePfnRange(pfn: number, count: number): void {
    this.validatePfn(pfn);
    if (!Number.isInteger(count) || count < 0 || pfn + count > this.profile.maxPfn) {
      throw new InvalidArgumentError(
        'count',
        count,
        `must be a non-negative integer with pfn + count <= max_pfn (0x${this.profile.maxPfn.toString(16)})`,
      );
    }
  }

  // ---------------------------------------------------------------- kmalloc

  /** kmalloc(size, gfp): va48 kernel address, ZERO_SIZE_PTR (16) for size 0, null on ENOMEM. */
  kmalloc(size: number, gfp: number): number | null {
    return this.slab.kmalloc(size, gfp);
  }

  /** kzalloc() */
  kzalloc(size: number, gfp: number): number | null {
    return this.slab.kmalloc(size, gfp | GFP.ZERO);
  }

  /** kfree(): NULL / ZERO_SIZE_PTR are no-ops; a pointer that is not a live allocation is refused. */
  kfree(addr: number): void {
    this.slab.kfree(addr);
  }

  /** ksize(): usable size of a live kmalloc allocation. */
  ksize(addr: number): number {
    return this.slab.ksize(addr);
  }

  /** Zone index of a PFN on this machine. */
  zoneIndexOfPfn(pfn: number): number {
    this.validatePfn(pfn);
    return this.zoneIdxOfZone[this.mem.zone(pfn)];
  }
}

/** Largest read served in one call (64 MiB): a bigger copy is a request the service refuses. */
export const MAX_PHYS_READ = 64 * 2 ** 20;

function checkReadSize(total: number): void {
  if (total > MAX_PHYS_READ) {
    throw new InvalidArgumentError('length', total, `reads at most ${MAX_PHYS_READ} bytes (64 MiB) per call`);
  }
}

function validateArray(field: string, value: unknown): void {
  if (!Array.isArray(value)) throw new InvalidArgumentError(field, typeof value, 'must be an array');
}

export function bootMachine(config?: Partial<MachineConfig>): PageAllocator {
  return new PageAllocator(validateMachineConfig(config));
}
