/**
 * Invariants of an mm that hold after every syscall; used by the property tests and available to
 * callers that want to check a model (e.g. after replaying a workload).
 */
import type { MmStruct } from './mm-struct';
import type { Vma } from './vma';
import { VM_ACCOUNT, VM_IGNORE_MERGE, VM_SPECIAL, flagsEqualIgnoring, hasAny } from './vm-flags';

/** Two adjacent VMAs that mm/vma.c would have merged into one (pairwise test). */
export function wouldMerge(a: Vma, b: Vma): boolean {
  return (
    a.end === b.start &&
    !hasAny(a.vmFlags, VM_SPECIAL) &&
    a.file === b.file &&
    flagsEqualIgnoring(a.vmFlags, b.vmFlags, VM_IGNORE_MERGE) &&
    a.pgoff + a.pages === b.pgoff &&
    (!a.anonVma || !b.anonVma || a.anonVma === b.anonVma) &&
    !(a.anonVma && a.anonVmaInherited && !b.anonVma) &&
    !(b.anonVma && b.anonVmaInherited && !a.anonVma)
  );
}

/**
 * Returns a description of the first broken invariant, or null. `merged`: also require that no
 * two neighbours are mergeable — true after any sequence of mmap, munmap, mprotect, madvise,
 * mlock and mremap without MREMAP_DONTUNMAP (which clears VM_LOCKED and the anon_vma of the VMA
 * it leaves behind without merging it, as Linux does), and without failed munmaps of sealed
 * ranges (whose first split stays).
 */
export function checkMmInvariants(mm: MmStruct, merged = true): string | null {
  const vmas = mm.vmas.all();
  let total = 0;
  let accounted = 0;
  for (let i = 0; i < vmas.length; i++) {
    const v = vmas[i];
    const at = `VMA ${i} [${v.start.toString(16)}, ${v.end.toString(16)})`;
    if (!(v.start < v.end)) return `${at} is empty or inverted`;
    if (v.start % 4096 || v.end % 4096) return `${at} is not page aligned`;
    if (v.end > mm.taskSize) return `${at} ends above TASK_SIZE`;
    if (i > 0) {
      const p = vmas[i - 1];
      if (p.end > v.start) return `${at} overlaps or is out of order with the previous VMA`;
      if (merged && wouldMerge(p, v)) return `${at} should have been merged with the previous VMA`;
    }
    total += v.pages;
    if (hasAny(v.vmFlags, VM_ACCOUNT)) accounted += v.pages;
  }
  if (mm.mapCount !== vmas.length) return `map_count ${mm.mapCount} != ${vmas.length} VMAs`;
  if (mm.mapCount > mm.machine.config.maxMapCount) return `map_count ${mm.mapCount} above max_map_count`;
  if (mm.totalVm !== total) return `total_vm ${mm.totalVm} != ${total} pages mapped`;
  if (mm.machine.committedPages !== accounted) {
    return `committed ${mm.machine.committedPages} pages != ${accounted} pages of VM_ACCOUNT VMAs`;
  }
  return null;
}
