/**
 * /proc/PID/pagemap entries (Documentation/admin-guide/mm/pagemap.rst, fs/proc/task_mmu.c
 * pte_to_pagemap_entry): bits 0-54 PFN, 55 soft-dirty, 56 exclusively mapped, 57 uffd-wp,
 * 61 file-page or shared-anon, 62 swapped, 63 present. Kept as two 32-bit words like a PTE.
 */
export interface PagemapEntry {
  readonly va: number;
  /** pte_present: P set, or a PROT_NONE entry. */
  readonly present: boolean;
  readonly pfn: number | null;
  /** A special (PFN-map) entry: no struct page behind it, never "exclusive". */
  readonly special: boolean;
  /** page_mapcount == 1 (PM_MMAP_EXCLUSIVE); false for special entries. */
  readonly exclusive: boolean;
  readonly softDirty: boolean;
  readonly uffdWp: boolean;
  readonly dirty: boolean;
  readonly accessed: boolean;
  /** The 64-bit pagemap value as (hi, lo); bit 61 (file/shared) is left to the vma-manager, which knows the VMA. */
  readonly hi: number;
  readonly lo: number;
}

const PM_SOFT_DIRTY_HI = 1 << (55 - 32);
const PM_MMAP_EXCLUSIVE_HI = 1 << (56 - 32);
const PM_UFFD_WP_HI = 1 << (57 - 32);
const PM_PRESENT_HI = 0x80000000;

export function encodePagemap(e: Omit<PagemapEntry, 'hi' | 'lo'>): { hi: number; lo: number } {
  let hi = 0;
  let lo = 0;
  if (e.present && e.pfn !== null) {
    lo = e.pfn % 2 ** 32;
    hi = Math.floor(e.pfn / 2 ** 32);
    hi |= PM_PRESENT_HI;
    if (e.exclusive) hi |= PM_MMAP_EXCLUSIVE_HI;
  }
  if (e.softDirty) hi |= PM_SOFT_DIRTY_HI;
  if (e.uffdWp) hi |= PM_UFFD_WP_HI;
  return { hi: hi >>> 0, lo: lo >>> 0 };
}
