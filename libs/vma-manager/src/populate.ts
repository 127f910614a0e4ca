/**
 * The VMA side of faulting pages in ahead of use (__mm_populate, populate_vma_page_range,
 * MADV_POPULATE_*): which ranges get read or write faults, and the anon_vma a write fault on a
 * private mapping attaches. The faults themselves are queued as 'populate' page-table ops.
 */
import type { MmStruct } from './mm-struct';
import type { AnonVma, Vma } from './vma';
import {
  VM_ACCESS_FLAGS,
  VM_IO,
  VM_LOCKONFAULT,
  VM_PFNMAP,
  VM_SHARED,
  VM_SOFTDIRTY,
  VM_WRITE,
  flagsEqualIgnoring,
  hasAny,
} from './vm-flags';

/** anon_vma_compatible (mm/rmap.c): a and b could share one anon_vma. */
function anonVmaCompatible(a: Vma, b: Vma): boolean {
  return (
    a.end === b.start &&
    a.file === b.file &&
    flagsEqualIgnoring(a.vmFlags, b.vmFlags, VM_ACCESS_FLAGS | VM_SOFTDIRTY) &&
    b.pgoff === a.pgoff + (b.start - a.start) / 4096
  );
}

/**
 * anon_vma_prepare: give `vma` an anon_vma, reusing a neighbour's (next first, then prev) when
 * find_mergeable_anon_vma would, else a new one.
 */
export function anonVmaPrepare(mm: MmStruct, vma: Vma): AnonVma {
  if (vma.anonVma) return vma.anonVma;
  const i = mm.vmas.indexOf(vma);
  const next = mm.vmas.at(i + 1);
  const prev = mm.vmas.prevOf(i);
  let reuse: AnonVma | null = null;
  if (next && next.anonVma && !next.anonVmaInherited && anonVmaCompatible(vma, next)) reuse = next.anonVma;
  else if (prev && prev.anonVma && !prev.anonVmaInherited && anonVmaCompatible(prev, vma))
    reuse = prev.anonVma;
  vma.anonVma = reuse ?? mm.newAnonVma();
  vma.anonVmaInherited = false;
  return vma.anonVma;
}

/** The FOLL_WRITE rule of populate_vma_page_range: private writable mappings get write faults. */
export function populateWrites(vma: Vma): boolean {
  return hasAny(vma.vmFlags, VM_WRITE) && !hasAny(vma.vmFlags, VM_SHARED);
}

/** Queue faults for [start, end) ⊆ vma; a write fault on a private mapping prepares its anon_vma. */
export function faultInRange(mm: MmStruct, vma: Vma, start: number, end: number, write: boolean): void {
  if (write && !hasAny(vma.vmFlags, VM_SHARED)) anonVmaPrepare(mm, vma);
  mm.pushPageOp({ kind: 'populate', start, end, write });
}

/**
 * __mm_populate(start, len, ignore_errors = false): fault in every VMA of the range; VM_IO and
 * VM_PFNMAP VMAs are skipped, VM_LOCKONFAULT ones left to fault. Returns EFAULT at the first VMA
 * that cannot be accessed at all (PROT_NONE), as __get_user_pages does.
 */
export function mmPopulate(mm: MmStruct, start: number, end: number): 'EFAULT' | null {
  let nstart = start;
  while (nstart < end) {
    const vma = mm.vmas.findIntersection(nstart, end);
    if (!vma) break;
    const nend = Math.min(end, vma.end);
    if (!hasAny(vma.vmFlags, VM_IO | VM_PFNMAP) && !hasAny(vma.vmFlags, VM_LOCKONFAULT)) {
      const from = Math.max(nstart, vma.start);
      if (!hasAny(vma.vmFlags, VM_ACCESS_FLAGS)) return 'EFAULT';
      faultInRange(mm, vma, from, nend, populateWrites(vma));
    }
    nstart = nend;
  }
  return null;
}
