/**
 * The VMA as a driver's mmap sees it, and the remap_pfn_range calls it answers with.
 */
import type { Errno } from '@pagemesh/uapi';
import type { Pgprot } from '@pagemesh/mmu';

/** VM_* bits drivers and their callers read (include/linux/mm.h). */
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;

/**
 * struct vm_area_struct as the vma-manager sends it with an mmap request. `vmStart`/`vmEnd` are
 * va48 user addresses (page aligned, start < end); `vmFlags` holds Linux's VM_* bits (bits above
 * 31 allowed); `vmPageProt` is vm_get_page_prot(vm_flags) as PTE bits.
 */
export interface DriverVma {
  readonly vmStart: number;
  readonly vmEnd: number;
  readonly vmFlags: number;
  readonly vmPgoff: number;
  readonly vmPageProt: Pgprot;
}

/** One remap_pfn_range(vma, addr, pfn, size, pgprot) call a driver's mmap makes, in call order. */
export interface RemapRequest {
  readonly addr: number;
  readonly pfn: number;
  readonly size: number;
  readonly pgprot: Pgprot;
}

/** A driver's answer to mmap: the remap calls to make, or the errno its mmap returned before any. */
export type MmapResult = { readonly requests: readonly RemapRequest[] } | { readonly errno: Errno };

/** vma_pages() */
export function vmaPages(vma: DriverVma): number {
  return (vma.vmEnd - vma.vmStart) / 4096;
}
