/**
 * What the drivers need from the layers below, and nothing more. Over gRPC the page allocator and
 * the mmu are other processes, so every method is asynchronous and batch-shaped: a driver's init
 * reserves its 16 pages in one call, not sixteen.
 *
 * Kernel addresses are va48 numbers (docs/architecture.md, "64-bit values"); pages are named by PFN.
 */
import type { MachineArch, Pgprot, RemapResult, RemapVma, RemovedPte } from '@pagemesh/mmu';

/** One physical range to read. */
export interface PhysRange {
  readonly paddr: number;
  readonly length: number;
}

/** One physical write. */
export interface PhysWrite {
  readonly paddr: number;
  readonly bytes: Uint8Array;
}

export interface DriverPageAllocatorPort {
  /** kmalloc(size, gfp): a direct-map va48 address, or null (the kernel's NULL). */
  kmalloc(size: number, gfp: number): Promise<number | null>;
  /** kfree(addr). */
  kfree(addr: number): Promise<void>;
  /** virt_to_pfn() of direct-map addresses (virt_to_page names the page by its PFN here). */
  virtToPfns(addrs: readonly number[]): Promise<number[]>;
  /** page_address() of each PFN: its direct-map address, null for highmem. */
  pageAddresses(pfns: readonly number[]): Promise<(number | null)[]>;
  /** alloc_pages(gfp, order): the first PFN of 2^order contiguous pages, or null. */
  allocPages(gfp: number, order: number): Promise<number | null>;
  /** __free_pages(page, order). */
  freePages(pfn: number, order: number): Promise<void>;
  /** SetPageReserved on each PFN. */
  setPagesReserved(pfns: readonly number[]): Promise<void>;
  /** ClearPageReserved on each PFN. */
  clearPagesReserved(pfns: readonly number[]): Promise<void>;
  /** PageReserved() of each PFN (the driver's view of its memory). */
  testPagesReserved(pfns: readonly number[]): Promise<boolean[]>;
  /** Physical reads, in order. */
  readPhys(ranges: readonly PhysRange[]): Promise<Uint8Array[]>;
  /** Physical writes, applied in order. */
  writePhys(writes: readonly PhysWrite[]): Promise<void>;
}

export interface DriverMmuPort {
  /** The architecture, for the pgprot values a driver names (PAGE_SHARED has NX on x86_64 only). */
  arch(): Promise<MachineArch>;
  /** vmalloc(size): a va48 kernel address, or null. */
  vmalloc(size: number): Promise<number | null>;
  /** vfree(addr). */
  vfree(addr: number): Promise<void>;
  /** vmalloc_to_pfn() of `count` consecutive pages from `addr` (null where nothing is mapped). */
  vmallocToPfns(addr: number, count: number): Promise<(number | null)[]>;
}

/** The two ports every driver gets. */
export interface DriverPorts {
  readonly pageAllocator: DriverPageAllocatorPort;
  readonly mmu: DriverMmuPort;
}

/**
 * What applying a driver's remap requests needs from the mmu: remap_pfn_range itself and the zap
 * that undoes a partial mapping. `Mmu` has both; an rpc client can implement them too.
 */
export interface RemapMmuPort {
  remapPfnRange(
    asid: number,
    vma: RemapVma,
    addr: number,
    pfn: number,
    size: number,
    prot: Pgprot,
  ): Promise<RemapResult>;
  unmapPages(asid: number, va: number, count: number): Promise<RemovedPte[]>;
}
