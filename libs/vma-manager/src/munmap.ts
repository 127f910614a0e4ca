import type { MmStruct } from './mm-struct';
import type { SyscallResult } from './mman';
import { type U64, decodeRange } from './u64';
import { splitVma } from './vma-merge';
import { vmUnacctMemory } from './overcommit';
import { VM_ACCOUNT, VM_LOCKED, VM_SEALED, hasAny } from './vm-flags';

/** The VMAs that [start, end) covers, split at its ends: indexes [first, last) of the tree. */
export interface GatheredRange {
  readonly start: number;
  readonly end: number;
  readonly first: number;
  readonly last: number;
  /** pages of the gathered VMAs that carry VM_ACCOUNT */
  readonly accountedPages: number;
  /** pages the gathered VMAs cover */
  readonly pages: number;
}

/**
 * vms_gather_munmap_vmas: split the VMAs straddling start and end and find the ones inside.
 * Refuses with EPERM at the first sealed VMA; a split at `start` done before that stays
 * (the kernel does not undo it either).
 */
export function gatherMunmap(mm: MmStruct, start: number, end: number): GatheredRange | 'EPERM' | 'ENOMEM' {
  const tree = mm.vmas;
  let first = tree.indexAfter(start);
  const vma = tree.at(first);
  if (!vma || vma.start >= end) return { start, end, first, last: first, accountedPages: 0, pages: 0 };
  if (start > vma.start) {
    if (end < vma.end && mm.mapCount >= mm.machine.config.maxMapCount) return 'ENOMEM';
    if (hasAny(vma.vmFlags, VM_SEALED)) return 'EPERM';
    splitVma(mm, vma, start, true, false);
    first += 1;
  }
  let last = first;
  let accountedPages = 0;
  let pages = 0;
  for (;;) {
    const v = tree.at(last);
    if (!v || v.start >= end) break;
    if (hasAny(v.vmFlags, VM_SEALED)) return 'EPERM';
    if (v.end > end) splitVma(mm, v, end, false, false);
    pages += v.pages;
    if (hasAny(v.vmFlags, VM_ACCOUNT)) accountedPages += v.pages;
    last += 1;
  }
  return { start, end, first, last, accountedPages, pages };
}

/**
 * vms_complete_munmap_vmas: detach the gathered VMAs, fix the counters and queue the zap of
 * their page tables. `unaccount` false: the caller keeps the commit charge (mremap's move).
 */
export function completeMunmap(mm: MmStruct, g: GatheredRange, unaccount = true): void {
  if (g.first === g.last) return;
  const tree = mm.vmas;
  for (let k = g.first; k < g.last; k++) {
    const v = tree.get(k);
    const n = v.pages;
    mm.vmStatAccount(v.vmFlags, -n);
    if (hasAny(v.vmFlags, VM_LOCKED)) mm.lockedVm -= n;
  }
  if (unaccount && g.accountedPages) vmUnacctMemory(mm.machine, g.accountedPages);
  tree.removeAt(g.first, g.last - g.first);
  mm.pushPageOp({ kind: 'unmap', start: g.start, end: g.end });
}

/** do_vmi_align_munmap for a page-aligned, non-empty range. */
export function unmapRange(
  mm: MmStruct,
  start: number,
  end: number,
  unaccount = true,
): 'EPERM' | 'ENOMEM' | null {
  const g = gatherMunmap(mm, start, end);
  if (typeof g === 'string') return g;
  completeMunmap(mm, g, unaccount);
  return null;
}

/** munmap(2) (do_vmi_munmap). */
export function munmap(mm: MmStruct, addr: U64, len: U64): SyscallResult {
  const r = decodeRange(addr, len, 'addr', 'len');
  if (!r.startAligned || r.start > mm.taskSize || r.len > mm.taskSize - r.start || r.endWrapped) {
    return { errno: 'EINVAL' };
  }
  if (r.end === r.start) return { errno: 'EINVAL' };
  const err = unmapRange(mm, r.start, r.end);
  return err ? { errno: err } : { ret: 0 };
}
