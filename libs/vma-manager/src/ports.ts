/**
 * What the vma-manager needs from the layers below it. Batch-shaped and asynchronous: over gRPC
 * the mmu and the page allocator are a process away. Implemented in-process by adapters over the
 * domain objects, or by the clients of the rpc libs.
 *
 * Addresses are va48 numbers (see docs/architecture.md); `asid` names one address space (one mm).
 */

/** One present page-table entry as the vma-manager sees it. */
export interface MappedPage {
  readonly va: number;
  readonly pfn: number;
  readonly writable: boolean;
  readonly dirty: boolean;
  readonly young: boolean;
}

export interface VaRange {
  readonly start: number;
  readonly end: number;
}

/** pagemap bits of one page (fs/proc/task_mmu.c pte_to_pagemap_entry). */
export interface PagemapEntry {
  readonly va: number;
  readonly present: boolean;
  readonly pfn: number | null;
  readonly swapped: boolean;
  readonly fileShared: boolean;
  readonly exclusive: boolean;
  readonly guard: boolean;
}

/** New permissions for the PTEs of a range (change_protection). */
export interface ProtectionChange {
  readonly range: VaRange;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly executable: boolean;
  /**
   * Private mapping: write permission may only be set on PTEs of pages mapped exactly once
   * (exclusive anonymous pages); shared and zero pages stay read-only for copy-on-write.
   */
  readonly copyOnWrite: boolean;
}

export interface MmuPort {
  /** zap_page_range for each range: clear the PTEs, flush the TLB, return what was mapped. */
  unmapRanges(asid: number, ranges: readonly VaRange[]): Promise<{ removed: MappedPage[] }>;
  /** change_protection: rewrite the PTEs of the ranges for new permissions (write only where no COW is needed). */
  changeProtection(asid: number, changes: readonly ProtectionChange[]): Promise<void>;
  /** set_pte_at for a batch of pages. */
  mapPages(
    asid: number,
    pages: readonly { va: number; pfn: number; writable: boolean; executable: boolean; dirty: boolean }[],
  ): Promise<void>;
  /** /proc/PID/pagemap for the ranges, one entry per page. */
  pagemap(asid: number, ranges: readonly VaRange[]): Promise<PagemapEntry[]>;
}

export interface PageAllocatorPort {
  /** alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_ZERO) of `count` order-0 pages. */
  allocZeroedPages(count: number): Promise<number[]>;
  /** put_page for each pfn (a page may appear more than once). */
  putPages(pfns: readonly number[]): Promise<void>;
}
