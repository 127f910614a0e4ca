/**
 * Merging and splitting VMAs as mm/vma.c does it (vma_merge_new_range, vma_merge_existing_range,
 * vma_modify, split_vma). Only facts of the kernel's behaviour are reproduced here.
 */
import type { MmStruct } from './mm-struct';
import { Vma, type AnonVma, type VmFile } from './vma';
import {
  VM_IGNORE_MERGE,
  VM_LOCKED,
  VM_SPECIAL,
  VM_STICKY,
  flagsEqualIgnoring,
  hasAny,
  maskFlags,
  setFlags,
} from './vm-flags';

/** The VMA that a range would become (struct vma_merge_struct, the parts that decide). */
export interface MergeProposal {
  readonly start: number;
  readonly end: number;
  readonly vmFlags: number;
  readonly pgoff: number;
  readonly file: VmFile | null;
  readonly anonVma: AnonVma | null;
  /** the source VMA's anon_vma came through fork (vma_had_uncowed_parents) */
  readonly anonVmaInherited: boolean;
}

/** is_mergeable_vma: equal flags (but for VM_IGNORE_MERGE) and the same file. */
function isMergeableVma(vma: Vma, p: MergeProposal): boolean {
  return vma.file === p.file && flagsEqualIgnoring(vma.vmFlags, p.vmFlags, VM_IGNORE_MERGE);
}

/** is_mergeable_anon_vma */
function isMergeableAnonVma(p: MergeProposal, tgt: Vma): boolean {
  if (!tgt.anonVma && p.anonVma) return !p.anonVmaInherited;
  if (tgt.anonVma && !p.anonVma) return !tgt.anonVmaInherited;
  return p.anonVma === tgt.anonVma;
}

/** can_vma_merge_after: `prev` can absorb the proposal at its end. */
function canMergeAfter(prev: Vma | undefined, p: MergeProposal): prev is Vma {
  return (
    prev !== undefined &&
    prev.end === p.start &&
    isMergeableVma(prev, p) &&
    isMergeableAnonVma(p, prev) &&
    prev.pgoff + prev.pages === p.pgoff
  );
}

/** can_vma_merge_before: `next` can absorb the proposal at its start. */
function canMergeBefore(next: Vma | undefined, p: MergeProposal): next is Vma {
  return (
    next !== undefined &&
    next.start === p.end &&
    isMergeableVma(next, p) &&
    isMergeableAnonVma(p, next) &&
    next.pgoff === p.pgoff + (p.end - p.start) / 4096
  );
}

/** The remainder of can_vma_merge_right: prev and next must agree with each other too. */
function prevNextCompatible(prev: Vma | undefined, next: Vma): boolean {
  return !prev || !prev.anonVma || !next.anonVma || prev.anonVma === next.anonVma;
}

function adoptAnon(target: Vma, from: { anonVma: AnonVma | null; anonVmaInherited: boolean }): void {
  if (!target.anonVma && from.anonVma) {
    target.anonVma = from.anonVma;
    target.anonVmaInherited = from.anonVmaInherited;
  }
}

function withSticky(target: Vma, flags: number): void {
  const sticky = maskFlags(flags, VM_STICKY);
  if (sticky) target.vmFlags = setFlags(target.vmFlags, sticky);
}

/**
 * vma_merge_new_range: try to extend a neighbour over the free range [p.start, p.end).
 * Returns the VMA now covering the range, or null (the caller inserts a new VMA).
 */
export function mergeNewRange(mm: MmStruct, p: MergeProposal): Vma | null {
  if (hasAny(p.vmFlags, VM_SPECIAL)) return null;
  const tree = mm.vmas;
  const i = tree.indexAfter(p.start);
  const prev = tree.prevOf(i);
  const next = tree.at(i);
  const pv = canMergeAfter(prev, p) ? prev : undefined;
  const nx = canMergeBefore(next, p) && (!pv || prevNextCompatible(pv, next)) ? next : undefined;
  if (pv && nx) {
    pv.end = nx.end;
    adoptAnon(pv, p);
    adoptAnon(pv, nx);
    withSticky(pv, nx.vmFlags);
    withSticky(pv, p.vmFlags);
    tree.removeAt(i, 1);
    return pv;
  }
  if (pv) {
    pv.end = p.end;
    adoptAnon(pv, p);
    withSticky(pv, p.vmFlags);
    return pv;
  }
  if (nx) {
    nx.start = p.start;
    nx.pgoff = p.pgoff;
    adoptAnon(nx, p);
    withSticky(nx, p.vmFlags);
    return nx;
  }
  return null;
}

/**
 * split_vma / __split_vma: cut `vma` at `addr`; returns the new VMA (below `addr` if newBelow,
 * else above). Both pieces share the anon_vma. `checkCount`: split_vma's map_count limit
 * (munmap's __split_vma checks it elsewhere).
 */
export function splitVma(
  mm: MmStruct,
  vma: Vma,
  addr: number,
  newBelow: boolean,
  checkCount = true,
): Vma | 'ENOMEM' {
  if (checkCount && mm.mapCount >= mm.machine.config.maxMapCount) return 'ENOMEM';
  const i = mm.vmas.indexOf(vma);
  const delta = (addr - vma.start) / 4096;
  if (newBelow) {
    const lower = vma.clone(vma.start, addr, vma.pgoff);
    vma.start = addr;
    vma.pgoff += delta;
    mm.vmas.insertAt(i, lower);
    return lower;
  }
  const upper = vma.clone(addr, vma.end, vma.pgoff + delta);
  vma.end = addr;
  mm.vmas.insertAt(i + 1, upper);
  return upper;
}

/**
 * vma_merge_existing_range: [start, end) ⊆ middle is about to get `vmFlags`; fold it into prev
 * and/or next when they are compatible. `prev` is the VMA the caller's walk considers previous
 * (the predecessor in the tree, or middle itself when start lies inside middle).
 */
function mergeExistingRange(
  mm: MmStruct,
  middle: Vma,
  start: number,
  end: number,
  vmFlags: number,
): Vma | null {
  const leftSide = start === middle.start;
  const rightSide = end === middle.end;
  if (hasAny(vmFlags, VM_SPECIAL) || (!leftSide && !rightSide)) return null;
  const tree = mm.vmas;
  const i = tree.indexOf(middle);
  const prev = leftSide ? tree.prevOf(i) : middle;
  const next = rightSide ? tree.at(i + 1) : undefined;
  const p: MergeProposal = {
    start,
    end,
    vmFlags,
    pgoff: middle.pgoffAt(start),
    file: middle.file,
    anonVma: middle.anonVma,
    anonVmaInherited: middle.anonVmaInherited,
  };
  const pv = leftSide && canMergeAfter(prev, p) ? prev : undefined;
  const nx = rightSide && canMergeBefore(next, p) && (!pv || prevNextCompatible(pv, next)) ? next : undefined;
  if (!pv && !nx) return null;
  const removeMiddle = leftSide && rightSide;
  const sticky = setFlags(maskFlags(middle.vmFlags, VM_STICKY), maskFlags(vmFlags, VM_STICKY));
  if (pv && nx) {
    pv.end = nx.end;
    adoptAnon(pv, middle);
    adoptAnon(pv, nx);
    withSticky(pv, setFlags(sticky, nx.vmFlags));
    tree.removeAt(i, 2);
    return pv;
  }
  if (pv) {
    adoptAnon(pv, middle);
    withSticky(pv, sticky);
    if (removeMiddle) {
      pv.end = middle.end;
      tree.removeAt(i, 1);
    } else {
      pv.end = end;
      middle.pgoff = middle.pgoffAt(end);
      middle.start = end;
    }
    return pv;
  }
  if (!nx) return null;
  adoptAnon(nx, middle);
  withSticky(nx, sticky);
  nx.pgoff = p.pgoff;
  nx.start = start;
  if (removeMiddle) tree.removeAt(i, 1);
  else middle.end = start;
  return nx;
}

/**
 * vma_modify + vm_flags_reset: give [start, end) ⊆ vma the flags `vmFlags`, merging with a
 * neighbour when possible, else splitting vma into two or three. Returns the VMA that now holds
 * the range (possibly larger, when merged), or ENOMEM when a split would pass max_map_count.
 */
export function modifyVmaFlags(
  mm: MmStruct,
  vma: Vma,
  start: number,
  end: number,
  vmFlags: number,
): Vma | 'ENOMEM' {
  const merged = mergeExistingRange(mm, vma, start, end, vmFlags);
  if (merged) return merged;
  if (vma.start < start) {
    const r = splitVma(mm, vma, start, true);
    if (r === 'ENOMEM') return r;
  }
  if (vma.end > end) {
    const r = splitVma(mm, vma, end, false);
    if (r === 'ENOMEM') return r;
  }
  vma.vmFlags = setFlags(vmFlags, maskFlags(vma.vmFlags, VM_STICKY));
  return vma;
}

/** Adds or removes a VMA's pages from locked_vm when VM_LOCKED changes. */
export function accountLocked(mm: MmStruct, oldFlags: number, newFlags: number, npages: number): void {
  const was = hasAny(oldFlags, VM_LOCKED);
  const now = hasAny(newFlags, VM_LOCKED);
  if (was && !now) mm.lockedVm -= npages;
  else if (!was && now) mm.lockedVm += npages;
}

/** Builds a new VMA for [start, end) and inserts it (or merges it) — the common tail of mmap. */
export function insertOrMerge(mm: MmStruct, p: MergeProposal): Vma {
  const merged = mergeNewRange(mm, p);
  if (merged) return merged;
  const vma = new Vma(p.start, p.end, p.vmFlags, p.pgoff, p.file, p.anonVma, p.anonVmaInherited);
  mm.vmas.insert(vma);
  return vma;
}
