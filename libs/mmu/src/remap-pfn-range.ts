import type { Errno } from '@pagemesh/uapi';

/** VM_* bits remap_pfn_range reads or sets (include/linux/mm.h). */
export const VM_SHARED = 0x8;
export const VM_MAYWRITE = 0x20;
export const VM_PFNMAP = 0x400;
export const VM_IO = 0x4000;
export const VM_DONTEXPAND = 0x40000;
export const VM_DONTDUMP = 0x4000000;
/** VM_REMAP_FLAGS: what remap_pfn_range sets on the VMA. */
export const VM_REMAP_FLAGS = VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;

/** The VMA fields remap_pfn_range uses, sent by the vma-manager with the request. */
export interface RemapVma {
  readonly start: number;
  readonly end: number;
  readonly flags: number;
  readonly pgoff: number;
}

/**
 * The outcome of remap_pfn_range: 0 or Linux's errno (as a name), and the VMA fields the vma-manager
 * must store back. As in the kernel, the flags are set once the alignment and COW checks pass,
 * so they stay set even when a later step fails with -ENOMEM.
 */
export interface RemapResult {
  readonly errno: Errno | null;
  readonly vmFlags: number;
  readonly vmPgoff: number;
}

/** is_cow_mapping(): private and may become writable. */
export function isCowMapping(flags: number): boolean {
  return (low32(flags) & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/** vm_flags may use bits above 31 (up to 52 here): bitwise operators only touch the low word. */
function low32(flags: number): number {
  return flags % 2 ** 32;
}

function setLowBits(flags: number, bits: number): number {
  const lo = low32(flags);
  return flags - lo + ((lo | bits) >>> 0);
}

/**
 * The VMA-level checks of remap_pfn_range (mm/memory.c), before any page-table work.
 * Returns the errno with the VMA unchanged, or null errno with the updated flags and pgoff.
 *
 * The kernel does not check that a shared mapping's range lies inside the VMA (a driver bug
 * would corrupt neighbouring mappings); pagemesh refuses such a range with -EINVAL instead.
 */
export function remapVmaChecks(vma: RemapVma, addr: number, end: number, pfn: number): RemapResult {
  const unchanged = { vmFlags: vma.flags, vmPgoff: vma.pgoff };
  if (addr % 4096 !== 0) return { errno: 'EINVAL', ...unchanged };
  let pgoff = vma.pgoff;
  if (isCowMapping(vma.flags)) {
    if (addr !== vma.start || end !== vma.end) return { errno: 'EINVAL', ...unchanged };
    pgoff = pfn;
  }
  if (addr < vma.start || end > vma.end) return { errno: 'EINVAL', ...unchanged };
  return { errno: null, vmFlags: setLowBits(vma.flags, VM_REMAP_FLAGS), vmPgoff: pgoff };
}
