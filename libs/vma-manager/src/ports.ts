/**
 * What the vma-manager needs from the layers below it. Batch-shaped and asynchronous: over gRPC
 * the mmu and the page allocator are a process away. Implemented in-process by the adapters of
 * inproc-ports.ts over the domain objects, or by the clients of the rpc libs.
 *
 * Addresses are va48 numbers (see docs/architecture.md); `asid` names one address space (one mm).
 */

import type { Errno } from '@pagemesh/uapi';

/** One present page-table entry as the vma-manager sees it. */
export interface MappedPage {
  readonly va: number;
  readonly pfn: number;
  readonly writable: boolean;
  readonly dirty: boolean;
  readonly young: boolean;
  /** pte_special: no struct page bookkeeping (the shared zero page, PFN maps) */
  readonly special: boolean;
  /** a huge PMD leaf (a whole THP zapped at once): `pfn` is the first of its 512 pages */
  readonly huge?: boolean;
}

export interface VaRange {
  readonly start: number;
  readonly end: number;
}

/** One page of /proc/PID/pagemap, with the PTE bits the fault handler needs. */
export interface PagemapEntry {
  readonly va: number;
  /** pte_present: mapped, including PROT_NONE entries */
  readonly present: boolean;
  readonly pfn: number | null;
  readonly special: boolean;
  /** mapped exactly once (PM_MMAP_EXCLUSIVE) */
  readonly exclusive: boolean;
  readonly writable: boolean;
  readonly dirty: boolean;
  readonly young: boolean;
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

/** A page to map (set_pte_at). */
export interface PageToMap {
  readonly va: number;
  readonly pfn: number;
  /** false: a PROT_NONE entry */
  readonly accessible: boolean;
  readonly writable: boolean;
  readonly executable: boolean;
  readonly dirty: boolean;
  readonly special: boolean;
  /** the accessed bit (default set) */
  readonly young?: boolean;
}

/** A huge PMD leaf to map (set_pmd_at of a THP or of the huge zero folio). */
export interface HugePmdToMap {
  /** 2 MiB aligned */
  readonly va: number;
  /** the folio's first page (aligned to 512) */
  readonly pfn: number;
  readonly writable: boolean;
  readonly executable: boolean;
  readonly dirty: boolean;
  /** the huge zero folio: no struct page bookkeeping */
  readonly special: boolean;
  /** the accessed bit (default set) */
  readonly young?: boolean;
  /** false: a PROT_NONE entry (default true) */
  readonly accessible?: boolean;
}

/** What a user access did: completed (with the byte read), faulted, or was not tried. */
export type AccessOutcome =
  | { readonly kind: 'ok'; readonly data?: Uint8Array }
  | { readonly kind: 'fault'; readonly write: boolean }
  | { readonly kind: 'skipped' };

export interface MmuPort {
  /**
   * User accesses on a CPU running this address space, in order: a read of one byte, or a write
   * of `data`. The CPU sets accessed/dirty bits; the first that faults stops the rest.
   */
  access(
    asid: number,
    accesses: readonly { readonly va: number; readonly write: boolean; readonly data?: Uint8Array }[],
  ): Promise<AccessOutcome[]>;
  /** A new, empty user address space (mm_alloc_pgd); returns its asid. */
  createAddressSpace(): Promise<number>;
  /** Frees an address space's page tables (after its pages were unmapped). */
  destroyAddressSpace(asid: number): Promise<void>;
  /** zap_page_range for each range: clear the PTEs, flush the TLB, return what was mapped. */
  unmapRanges(asid: number, ranges: readonly VaRange[]): Promise<{ removed: MappedPage[] }>;
  /** change_protection: rewrite the PTEs of the ranges for new permissions. */
  changeProtection(asid: number, changes: readonly ProtectionChange[]): Promise<void>;
  /** set_pte_at for a batch of pages, replacing what is there. */
  mapPages(asid: number, pages: readonly PageToMap[]): Promise<void>;
  /** /proc/PID/pagemap for the ranges, one entry per page. */
  pagemap(asid: number, ranges: readonly VaRange[]): Promise<PagemapEntry[]>;
  /**
   * set_pmd_at of a huge leaf with a PTE table deposited for a later split. The PMD must be
   * empty (no PTE table), or hold a huge leaf, which is then rewritten (wrprotect, reuse).
   */
  mapHugePmd(asid: number, pmd: HugePmdToMap): Promise<void>;
  /**
   * __split_huge_pmd: the huge leaf at `va` becomes 512 PTEs with its bits, in its deposited
   * table; with `zeroPfn` (the huge zero folio) each PTE maps ZERO_PAGE instead, read-only.
   */
  splitHugePmd(asid: number, va: number, zeroPfn?: number): Promise<void>;
}

export interface PageAllocatorPort {
  /** alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_ZERO) of `count` order-0 pages (refcount 1 each). */
  allocZeroedPages(count: number): Promise<number[]>;
  /** get_page for each pfn. */
  getPages(pfns: readonly number[]): Promise<void>;
  /** put_page for each pfn (a page may appear more than once). */
  putPages(pfns: readonly number[]): Promise<void>;
  /** rmap: page_add_*_rmap (+1) / page_remove_rmap (-1) on each page's mapcount. */
  addMapcounts(pfns: readonly number[], delta: 1 | -1): Promise<void>;
  /** page_mapcount of each page. */
  mapcounts(pfns: readonly number[]): Promise<number[]>;
  /** folio_mark_dirty: the page's data differs from its backing (shmem written through a mapping). */
  markDirty(pfns: readonly number[]): Promise<void>;
  /** folio_test_dirty of each page. */
  dirtyFlags(pfns: readonly number[]): Promise<boolean[]>;
  /** copy_user_highpage */
  copyPages(pairs: readonly { readonly dst: number; readonly src: number }[]): Promise<void>;
  /** The shared zero page (ZERO_PAGE(0)). */
  zeroPage(): Promise<number>;
  /**
   * vma_alloc_anon_folio_pmd: an order-9 compound folio of zeroed pages (GFP_TRANSHUGE), its
   * first pfn with refcount 1; null when no free 2 MiB block is left (the fault falls back).
   */
  allocHugePage(): Promise<number | null>;
  /** mm_get_huge_zero_folio: the huge zero folio's first pfn (allocated once), or null. */
  hugeZeroPage(): Promise<number | null>;
  /** Bytes of pages (what a user access reads and writes). */
  readBytes(
    reads: readonly { readonly pfn: number; readonly offset: number; readonly length: number }[],
  ): Promise<Uint8Array[]>;
  writeBytes(
    writes: readonly { readonly pfn: number; readonly offset: number; readonly bytes: Uint8Array }[],
  ): Promise<void>;
}

/** fmode_t bits of an open file (include/linux/fs.h) */
export const FMODE_READ = 0x1;
export const FMODE_WRITE = 0x2;

/** An open device file as the vma-manager keeps it in an fd table and in the VMAs that map it. */
export interface DeviceFileInfo {
  /** the device-drivers layer's id of the struct file */
  readonly id: number;
  /** the node's path (/dev/mymmap): what /proc/PID/maps prints */
  readonly path: string;
  /** FMODE_READ | FMODE_WRITE, from the open flags' access mode */
  readonly fMode: number;
  /** s_dev of the filesystem holding the node (devtmpfs), as maps prints it, not the device's i_rdev */
  readonly devMajor: number;
  readonly devMinor: number;
  /** the node's inode number */
  readonly ino: number;
}

/** The VMA a device's mmap is asked to fill: [start, end) va48, vm_flags and vm_pgoff. */
export interface DeviceVma {
  readonly start: number;
  readonly end: number;
  readonly vmFlags: number;
  readonly pgoff: number;
}

/**
 * The driver's mmap outcome once its remap_pfn_range calls are applied: its errno (nothing left
 * mapped), or the VMA's vm_flags and vm_pgoff after the calls (VM_IO | VM_PFNMAP | ... added).
 */
export type DeviceMmapResult =
  | { readonly errno: Errno }
  | { readonly errno?: undefined; readonly vmFlags: number; readonly pgoff: number };

/** What a driver's /proc entry may read of `current`: sent with the read, never asked back. */
export interface ProcCaller {
  readonly pid: number;
  readonly comm: string;
  readonly vmas: readonly VaRange[];
}

/**
 * Device files, reached below the vma-manager (the device-drivers layer, which never calls up).
 * Batch-shaped where a process holds many references (fork, exit).
 */
export interface DeviceFilesPort {
  /** open(path, flags) of a device node: the file (one reference) or Linux's errno. */
  open(path: string, flags: number): Promise<{ readonly file: DeviceFileInfo } | { readonly errno: Errno }>;
  /** get_file on each id (an id may appear more than once). */
  getFiles(ids: readonly number[]): Promise<void>;
  /** fput on each id; the last reference releases the file (and unpins its module). */
  putFiles(ids: readonly number[]): Promise<void>;
  /** read(2) of up to `count` bytes at the file position: the bytes the driver copied. */
  read(id: number, count: number): Promise<{ readonly data: Uint8Array } | { readonly errno: Errno }>;
  /** write(2) of `bytes`: the count the driver took. */
  write(id: number, bytes: Uint8Array): Promise<{ readonly written: number } | { readonly errno: Errno }>;
  /**
   * f_op->mmap of the file for a VMA of address space `asid`, with the driver's remap_pfn_range
   * calls applied to that address space (a refused call undoes the earlier ones).
   */
  mmap(id: number, asid: number, vma: DeviceVma): Promise<DeviceMmapResult>;
  /** read of /proc/<name> (a driver's entry) on behalf of `caller`. */
  readProc(name: string, caller: ProcCaller): Promise<{ readonly text: string } | { readonly errno: Errno }>;
}
