/**
 * What the mmu needs from the page allocator, and nothing more. Over gRPC the page allocator is
 * another process, so every method is batch-shaped and asynchronous. The mmu keeps awaits off
 * the translation path: TLB lookups and page walks read its own table store synchronously, and
 * only page-table frame allocation and the data transfer of an access batch go through here.
 */

export type MachineArch = 'x86_64' | 'x86';

/** The machine the page allocator booted, as far as the mmu cares. */
export interface MachineInfo {
  readonly arch: MachineArch;
  /** max_pfn: PFNs are 0..maxPfn-1; a PFN at or beyond it is not memory. */
  readonly maxPfn: number;
  /** max_low_pfn: PFNs below it are lowmem and direct-mapped; on x86_64 equal to maxPfn. */
  readonly maxLowPfn: number;
  /** totalram_pages(), for vmalloc's size check. */
  readonly totalPages: number;
}

/** One step of an ordered physical transfer. */
export type PhysOp =
  | { readonly op: 'read'; readonly paddr: number; readonly length: number }
  | { readonly op: 'write'; readonly paddr: number; readonly bytes: Uint8Array };

export interface PageAllocatorPort {
  machine(): Promise<MachineInfo>;
  /**
   * `count` zeroed order-0 frames for page tables (GFP_PGTABLE_KERNEL / GFP_PGTABLE_USER),
   * marked PageType.Table and counted in /proc/meminfo PageTables. All or nothing: null when the
   * allocator cannot supply them all (nothing is kept).
   */
  allocPageTables(count: number, user: boolean): Promise<number[] | null>;
  /** Returns page-table frames: clears their page type and frees them. */
  freePageTables(pfns: readonly number[]): Promise<void>;
  /**
   * `count` order-0 pages for vmalloc (GFP_KERNEL | __GFP_HIGHMEM, so highmem on x86), counted
   * in VmallocUsed. All or nothing; null on failure.
   */
  allocVmallocPages(count: number): Promise<number[] | null>;
  freeVmallocPages(pfns: readonly number[]): Promise<void>;
  /** Executes reads and writes of physical memory in order; returns the data of each read, in order. */
  transferPhys(ops: readonly PhysOp[]): Promise<Uint8Array[]>;
  /** page_mapcount of each PFN (pagemap's exclusive bit). */
  mapcounts(pfns: readonly number[]): Promise<number[]>;
}
