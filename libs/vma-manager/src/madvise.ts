import type { MmStruct } from './mm-struct';
import * as M from './mman';
import type { SyscallResult } from './mman';
import { type U64, decodeRange } from './u64';
import type { Vma } from './vma';
import { modifyVmaFlags } from './vma-merge';
import { faultInRange, populateWrites } from './populate';
import {
  VM_ACCESS_FLAGS,
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_DROPPABLE,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_MAYWRITE,
  VM_IO,
  VM_LOCKED,
  VM_MAYBE_GUARD,
  VM_MERGEABLE,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  VM_RAND_READ,
  VM_SEALED,
  VM_SEQ_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_WIPEONFORK,
  VM_WRITE,
  clearFlags,
  hasAny,
  setFlags,
} from './vm-flags';

/** madvise_behavior_valid (6.18 with THP, KSM and guard regions; no memory-failure advice). */
const VALID_ADVICE = new Set<number>([
  M.MADV_NORMAL,
  M.MADV_RANDOM,
  M.MADV_SEQUENTIAL,
  M.MADV_WILLNEED,
  M.MADV_DONTNEED,
  M.MADV_DONTNEED_LOCKED,
  M.MADV_FREE,
  M.MADV_REMOVE,
  M.MADV_DONTFORK,
  M.MADV_DOFORK,
  M.MADV_DONTDUMP,
  M.MADV_DODUMP,
  M.MADV_WIPEONFORK,
  M.MADV_KEEPONFORK,
  M.MADV_COLD,
  M.MADV_PAGEOUT,
  M.MADV_POPULATE_READ,
  M.MADV_POPULATE_WRITE,
  M.MADV_MERGEABLE,
  M.MADV_UNMERGEABLE,
  M.MADV_HUGEPAGE,
  M.MADV_NOHUGEPAGE,
  M.MADV_COLLAPSE,
  M.MADV_GUARD_INSTALL,
  M.MADV_GUARD_REMOVE,
]);

/** Advice that discards data, refused on sealed read-only anonymous memory (mm/mseal.c is_discard). */
const DISCARD_ADVICE = new Set<number>([
  M.MADV_FREE,
  M.MADV_DONTNEED,
  M.MADV_DONTNEED_LOCKED,
  M.MADV_REMOVE,
  M.MADV_DONTFORK,
  M.MADV_WIPEONFORK,
  M.MADV_GUARD_INSTALL,
]);

type Visit = { vma: Vma; errno?: undefined } | { errno: import('@pagemesh/uapi').Errno };

/** can_madvise_modify */
function canModify(vma: Vma, advice: number): boolean {
  if (!hasAny(vma.vmFlags, VM_SEALED) || !DISCARD_ADVICE.has(advice)) return true;
  if (!vma.isAnonymous) return true;
  return hasAny(vma.vmFlags, VM_WRITE);
}

/** The new vm_flags for flag-changing advice, or an errno, or null for advice that sets no flag. */
function adviceFlags(vma: Vma, advice: number): number | 'EINVAL' | null {
  const f = vma.vmFlags;
  switch (advice) {
    case M.MADV_NORMAL:
      return clearFlags(f, VM_RAND_READ | VM_SEQ_READ);
    case M.MADV_SEQUENTIAL:
      return setFlags(clearFlags(f, VM_RAND_READ), VM_SEQ_READ);
    case M.MADV_RANDOM:
      return setFlags(clearFlags(f, VM_SEQ_READ), VM_RAND_READ);
    case M.MADV_DONTFORK:
      return setFlags(f, VM_DONTCOPY);
    case M.MADV_DOFORK:
      if (hasAny(f, VM_IO)) return 'EINVAL';
      return clearFlags(f, VM_DONTCOPY);
    case M.MADV_WIPEONFORK:
      if (vma.file || hasAny(f, VM_SHARED)) return 'EINVAL';
      return setFlags(f, VM_WIPEONFORK);
    case M.MADV_KEEPONFORK:
      if (hasAny(f, VM_DROPPABLE)) return 'EINVAL';
      return clearFlags(f, VM_WIPEONFORK);
    case M.MADV_DONTDUMP:
      return setFlags(f, VM_DONTDUMP);
    case M.MADV_DODUMP:
      if (hasAny(f, VM_SPECIAL)) return 'EINVAL';
      return clearFlags(f, VM_DONTDUMP);
    case M.MADV_MERGEABLE:
      return setFlags(f, VM_MERGEABLE);
    case M.MADV_UNMERGEABLE:
      return clearFlags(f, VM_MERGEABLE);
    case M.MADV_HUGEPAGE:
      return setFlags(clearFlags(f, VM_NOHUGEPAGE), VM_HUGEPAGE);
    case M.MADV_NOHUGEPAGE:
      return setFlags(clearFlags(f, VM_HUGEPAGE), VM_NOHUGEPAGE);
    default:
      return null;
  }
}

/** madvise_vma_behavior for [start, end) ⊆ vma. */
function visit(mm: MmStruct, vma: Vma, start: number, end: number, advice: number): Visit {
  if (!canModify(vma, advice)) return { errno: 'EPERM' };
  switch (advice) {
    case M.MADV_WILLNEED:
    case M.MADV_COLD:
    case M.MADV_PAGEOUT:
    case M.MADV_COLLAPSE:
      return { vma };
    case M.MADV_REMOVE:
      if (hasAny(vma.vmFlags, VM_LOCKED)) return { errno: 'EINVAL' };
      if (!vma.file) return { errno: 'EINVAL' };
      if (!hasAny(vma.vmFlags, VM_SHARED) || !hasAny(vma.vmFlags, VM_MAYWRITE)) return { errno: 'EACCES' };
      mm.pushPageOp({ kind: 'unmap', start, end });
      return { vma };
    case M.MADV_DONTNEED:
    case M.MADV_DONTNEED_LOCKED:
    case M.MADV_FREE: {
      let forbidden = VM_PFNMAP;
      if (advice !== M.MADV_DONTNEED_LOCKED) forbidden |= VM_LOCKED;
      if (hasAny(vma.vmFlags, forbidden)) return { errno: 'EINVAL' };
      if (advice === M.MADV_FREE) {
        if (!vma.isAnonymous) return { errno: 'EINVAL' };
        mm.pushPageOp({ kind: 'lazyfree', start, end });
      } else {
        mm.pushPageOp({ kind: 'unmap', start, end });
      }
      return { vma };
    }
    case M.MADV_GUARD_INSTALL:
      if (hasAny(vma.vmFlags, VM_LOCKED | VM_SPECIAL | VM_HUGETLB)) return { errno: 'EINVAL' };
      vma.vmFlags = setFlags(vma.vmFlags, VM_MAYBE_GUARD);
      mm.pushPageOp({ kind: 'guard', start, end, install: true });
      return { vma };
    case M.MADV_GUARD_REMOVE:
      if (hasAny(vma.vmFlags, VM_SPECIAL | VM_HUGETLB)) return { errno: 'EINVAL' };
      mm.pushPageOp({ kind: 'guard', start, end, install: false });
      return { vma };
  }
  const nf = adviceFlags(vma, advice);
  if (nf === 'EINVAL') return { errno: nf };
  if (nf === null || nf === vma.vmFlags) return { vma };
  const res = modifyVmaFlags(mm, vma, start, end, nf);
  // madvise reports a failed allocation as EAGAIN.
  if (res === 'ENOMEM') return { errno: 'EAGAIN' };
  return { vma: res };
}

/** MADV_POPULATE_(READ|WRITE): fault in the range, stopping at the first hole (madvise_populate). */
function populate(mm: MmStruct, start: number, end: number, write: boolean): SyscallResult {
  while (start < end) {
    const vma = mm.vmas.lookup(start);
    if (!vma) return { errno: 'ENOMEM' };
    if (hasAny(vma.vmFlags, VM_IO | VM_PFNMAP)) return { errno: 'EINVAL' };
    if (!hasAny(vma.vmFlags, VM_ACCESS_FLAGS)) return { errno: 'EINVAL' };
    if (write && !hasAny(vma.vmFlags, VM_WRITE)) return { errno: 'EINVAL' };
    const tmp = Math.min(vma.end, end);
    faultInRange(mm, vma, start, tmp, write && populateWrites(vma));
    start = tmp;
  }
  return { ret: 0 };
}

/** madvise(2) (do_madvise, madvise_walk_vmas). */
export function madvise(mm: MmStruct, addr: U64, len: U64, advice: number): SyscallResult {
  if (!VALID_ADVICE.has(advice)) return { errno: 'EINVAL' };
  const r = decodeRange(addr, len, 'addr', 'len');
  if (!r.startAligned) return { errno: 'EINVAL' };
  if (!r.lenZero && r.len === 0) return { errno: 'EINVAL' };
  if (r.endWrapped) return { errno: 'EINVAL' };
  if (r.end === r.start) return { ret: 0 };
  let start = r.start;
  const end = r.end;
  if (advice === M.MADV_POPULATE_READ || advice === M.MADV_POPULATE_WRITE) {
    return populate(mm, start, end, advice === M.MADV_POPULATE_WRITE);
  }
  const tree = mm.vmas;
  let vma = tree.findVma(start);
  let prev: Vma | undefined;
  let unmappedError = false;
  for (;;) {
    if (!vma) return { errno: 'ENOMEM' };
    if (start < vma.start) {
      unmappedError = true;
      start = vma.start;
      if (start >= end) break;
    }
    const tmp = Math.min(vma.end, end);
    const v = visit(mm, vma, start, tmp, advice);
    if (v.errno) return { errno: v.errno };
    prev = v.vma;
    start = tmp;
    if (prev && start < prev.end) start = prev.end;
    if (start >= end) break;
    vma = tree.findVma(prev ? prev.end : start);
  }
  return unmappedError ? { errno: 'ENOMEM' } : { ret: 0 };
}
