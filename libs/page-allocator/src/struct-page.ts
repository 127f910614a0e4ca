import { PageFlag, PageMapping, PageType } from './page-flags';
import { Zone } from './zone-type';

/**
 * mem_map: the struct page of every PFN, as four parallel 32-bit typed arrays (16 bytes a page,
 * against Linux's 64). Like the kernel, two words are unions whose meaning depends on state:
 *
 *   flags          PG_* bits, page type, order, mapping kind, zone and two bookkeeping bits
 *   refcount       _refcount (0 = free)
 *   mapcountOrNext _mapcount (-1 = unmapped) | buddy_list.next while PageBuddy (head of a free block)
 *   privOrPrev     head PFN on a tail page (compound_head) | slab cache id on a slab head
 *                  | buddy_list.prev while PageBuddy
 *
 * A free block's head is the only PageBuddy page; the rest of the block is plain free pages
 * (refcount 0, no tail bit), as in the kernel.
 */

// flags word layout
export const FLAG_BITS_MASK = 0xffff; // PageFlag bits 0..15
const TYPE_SHIFT = 16; // 4 bits: 0 = no type, else PageType - 0xf0 + 1
export const TYPE_MASK = 0xf << TYPE_SHIFT;
export const ORDER_SHIFT = 20; // 4 bits: buddy order on a PageBuddy head, allocation order on an allocated head
export const ORDER_MASK = 0xf << ORDER_SHIFT;
const MAPPING_SHIFT = 24; // 2 bits: 0 none, 1 anon, 2 file
const MAPPING_MASK = 0x3 << MAPPING_SHIFT;
export const ZONE_SHIFT = 26; // 3 bits: Zone id (page_zonenum)
export const ZONE_MASK = 0x7 << ZONE_SHIFT;
/** Page is inside an allocated block but not its first page (compound tail, or the rest of a non-compound order-N allocation). */
export const TAIL_BIT = 1 << 29;
/** Page was reserved at boot and never handed to the buddy allocator (not managed). */
export const NOT_MANAGED_BIT = 1 << 30;

/** The page-type bits of PageBuddy. */
export const BUDDY_TYPE_BITS = (PageType.Buddy - 0xf0 + 1) << TYPE_SHIFT;
const BUDDY_TYPE_CODE = BUDDY_TYPE_BITS;
export const NIL = -1;

const MAPPING_CODES: Readonly<Record<PageMapping, number>> = { none: 0, anon: 1, file: 2 };
const MAPPING_KINDS: readonly PageMapping[] = ['none', 'anon', 'file', 'none'];

export class MemMap {
  readonly flags: Uint32Array;
  readonly refcount: Int32Array;
  readonly mapcountOrNext: Int32Array;
  readonly privOrPrev: Int32Array;

  constructor(readonly nrPages: number) {
    this.flags = new Uint32Array(nrPages);
    this.refcount = new Int32Array(nrPages);
    this.mapcountOrNext = new Int32Array(nrPages).fill(-1);
    this.privOrPrev = new Int32Array(nrPages);
  }

  /** Bytes of metadata per page (the figure the benchmark reports). */
  static readonly BYTES_PER_PAGE = 16;

  setZoneRange(startPfn: number, endPfn: number, zone: Zone): void {
    const bits = zone << ZONE_SHIFT;
    this.flags.fill(bits, startPfn, endPfn);
  }

  zone(pfn: number): Zone {
    return ((this.flags[pfn] & ZONE_MASK) >>> ZONE_SHIFT) as Zone;
  }

  testFlag(pfn: number, flag: PageFlag): boolean {
    return (this.flags[pfn] & (1 << flag)) !== 0;
  }

  setFlag(pfn: number, flag: PageFlag): void {
    this.flags[pfn] |= 1 << flag;
  }

  clearFlag(pfn: number, flag: PageFlag): void {
    this.flags[pfn] &= ~(1 << flag);
  }

  isBuddy(pfn: number): boolean {
    return (this.flags[pfn] & TYPE_MASK) === BUDDY_TYPE_CODE;
  }

  pageType(pfn: number): PageType | null {
    const code = (this.flags[pfn] & TYPE_MASK) >>> TYPE_SHIFT;
    return code === 0 ? null : ((code - 1 + 0xf0) as PageType);
  }

  setPageType(pfn: number, type: PageType | null): void {
    const code = type === null ? 0 : type - 0xf0 + 1;
    this.flags[pfn] = (this.flags[pfn] & ~TYPE_MASK) | (code << TYPE_SHIFT);
  }

  order(pfn: number): number {
    return (this.flags[pfn] & ORDER_MASK) >>> ORDER_SHIFT;
  }

  setOrder(pfn: number, order: number): void {
    this.flags[pfn] = (this.flags[pfn] & ~ORDER_MASK) | (order << ORDER_SHIFT);
  }

  /** Mark a free block head: PageBuddy + set_buddy_order. */
  setBuddy(pfn: number, order: number): void {
    this.flags[pfn] =
      (this.flags[pfn] & ~(TYPE_MASK | ORDER_MASK)) | BUDDY_TYPE_CODE | (order << ORDER_SHIFT);
  }

  /** __ClearPageBuddy + set_page_private(0); the list words go back to _mapcount = -1. */
  clearBuddy(pfn: number): void {
    this.flags[pfn] &= ~(TYPE_MASK | ORDER_MASK);
    this.mapcountOrNext[pfn] = -1;
    this.privOrPrev[pfn] = 0;
  }

  mapping(pfn: number): PageMapping {
    return MAPPING_KINDS[(this.flags[pfn] & MAPPING_MASK) >>> MAPPING_SHIFT];
  }

  setMapping(pfn: number, mapping: PageMapping): void {
    this.flags[pfn] = (this.flags[pfn] & ~MAPPING_MASK) | (MAPPING_CODES[mapping] << MAPPING_SHIFT);
  }

  isTail(pfn: number): boolean {
    return (this.flags[pfn] & TAIL_BIT) !== 0;
  }

  isManaged(pfn: number): boolean {
    return (this.flags[pfn] & NOT_MANAGED_BIT) === 0;
  }

  /** Head PFN of the allocated block holding pfn (pfn itself unless it is a tail). */
  blockHead(pfn: number): number {
    return (this.flags[pfn] & TAIL_BIT) !== 0 ? this.privOrPrev[pfn] : pfn;
  }

  /** PageCompound-style tail: a tail of a block whose head has PG_head. */
  isCompoundTail(pfn: number): boolean {
    return (
      (this.flags[pfn] & TAIL_BIT) !== 0 && (this.flags[this.privOrPrev[pfn]] & (1 << PageFlag.Head)) !== 0
    );
  }

  /** Back to the state of a page fresh in the buddy allocator: keep zone and not-managed bits only. */
  resetFreePage(pfn: number): void {
    this.flags[pfn] &= ZONE_MASK | NOT_MANAGED_BIT;
    this.refcount[pfn] = 0;
    this.mapcountOrNext[pfn] = -1;
    this.privOrPrev[pfn] = 0;
  }

  /** _mapcount + 1 (0 on free/buddy pages, whose word holds a list link). */
  mapcount(pfn: number): number {
    if (this.isBuddy(pfn)) return 0;
    return this.mapcountOrNext[pfn] + 1;
  }
}
