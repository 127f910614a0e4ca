import type { MmStruct } from './mm-struct';
import type { Vma } from './vma';
import { VM_GROWSDOWN, hasAny } from './vm-flags';

/** vm_start_gap: a VM_GROWSDOWN VMA keeps stack_guard_gap free below it. */
export function vmStartGap(mm: MmStruct, vma: Vma): number {
  if (!hasAny(vma.vmFlags, VM_GROWSDOWN)) return vma.start;
  const gap = mm.machine.config.stackGuardGapPages * 4096;
  return vma.start > gap ? vma.start - gap : 0;
}

/** vm_end_gap: only VM_GROWSUP VMAs have one, and x86 has none. */
function vmEndGap(vma: Vma): number {
  return vma.end;
}

/** Highest gap below `high` that fits len (vm_unmapped_area, VM_UNMAPPED_AREA_TOPDOWN). */
function unmappedAreaTopdown(mm: MmStruct, len: number, low: number, high: number): number | null {
  const tree = mm.vmas;
  let i = tree.indexAfter(high);
  // gap_end is bounded by the next VMA's start gap (or high), gap_start by the previous VMA's end.
  let gapEnd = high;
  const at = tree.at(i);
  if (at) gapEnd = Math.min(gapEnd, vmStartGap(mm, at));
  for (;;) {
    const prev = tree.prevOf(i);
    const gapStart = prev ? Math.max(vmEndGap(prev), low) : low;
    if (gapEnd >= gapStart + len) return gapEnd - len;
    if (!prev) return null;
    i -= 1;
    gapEnd = Math.min(high, vmStartGap(mm, prev));
    if (gapEnd < low + len) return null;
  }
}

/** Lowest gap at or above `low` that fits len (bottom-up fallback). */
function unmappedAreaBottomup(mm: MmStruct, len: number, low: number, high: number): number | null {
  const tree = mm.vmas;
  let i = tree.indexAfter(low);
  let gapStart = low;
  const p = tree.prevOf(i);
  if (p) gapStart = Math.max(gapStart, vmEndGap(p));
  for (;;) {
    const next = tree.at(i);
    const gapEnd = next ? Math.min(vmStartGap(mm, next), high) : high;
    if (gapEnd >= gapStart + len) return gapStart;
    if (!next) return null;
    gapStart = Math.max(gapStart, vmEndGap(next));
    if (gapStart + len > high) return null;
    i += 1;
  }
}

/** TASK_UNMAPPED_BASE for the legacy layout: PAGE_ALIGN(TASK_SIZE / 3). */
function legacyBase(mm: MmStruct): number {
  return Math.ceil(mm.taskSize / 3 / 4096) * 4096;
}

/**
 * __get_unmapped_area + arch_get_unmapped_area_topdown (x86-64, no file alignment, no THP
 * alignment): MAP_FIXED takes addr as it is; a hint is used when [addr, addr+len) is free and
 * clear of stack guard gaps; otherwise the highest free gap below mmap_base.
 */
export function getUnmappedArea(
  mm: MmStruct,
  addr: number,
  len: number,
  fixed: boolean,
): number | 'ENOMEM' | 'EINVAL' {
  const taskSize = mm.taskSize;
  const minAddr = mm.machine.config.mmapMinAddr;
  if (len > taskSize) return 'ENOMEM';
  if (len > taskSize - minAddr) return 'ENOMEM';
  let result: number | null;
  if (fixed) {
    result = addr;
  } else {
    result = null;
    if (addr) {
      const a = addr - (addr % 4096);
      if (a <= taskSize - len && a >= minAddr) {
        const i = mm.vmas.indexAfter(a);
        const vma = mm.vmas.at(i);
        const prev = mm.vmas.prevOf(i);
        if ((!vma || a + len <= vmStartGap(mm, vma)) && (!prev || a >= vmEndGap(prev))) result = a;
      }
    }
    if (result === null) result = unmappedAreaTopdown(mm, len, Math.max(4096, minAddr), mm.mmapBase);
    if (result === null) result = unmappedAreaBottomup(mm, len, legacyBase(mm), taskSize);
    if (result === null) return 'ENOMEM';
  }
  if (result > taskSize - len) return 'ENOMEM';
  if (result % 4096 !== 0) return 'EINVAL';
  return result;
}
