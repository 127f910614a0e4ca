import type { MmStruct } from './mm-struct';
import { MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, type SyscallResult } from './mman';
import type { Errno } from '@pagemesh/uapi';
import { type U64, decodeAddr, isSmall, pageAlignBig, u64Big, u64Num } from './u64';
import type { Vma } from './vma';
import { insertOrMerge, mergeNewRange } from './vma-merge';
import { getUnmappedArea } from './get-unmapped-area';
import { unmapRange } from './munmap';
import { vmEnoughMemory, vmUnacctMemory } from './overcommit';
import { mmPopulate } from './populate';
import {
  VM_ACCOUNT,
  VM_DONTEXPAND,
  VM_LOCKED,
  VM_LOCKED_MASK,
  VM_MAYSHARE,
  VM_PFNMAP,
  VM_SEALED,
  VM_SHARED,
  clearFlags,
  hasAny,
} from './vm-flags';

type RemapType = 'no-resize' | 'shrink' | 'expand';

/** struct vma_remap_struct: one mremap request as it goes through the checks. */
interface Remap {
  addr: number;
  oldLen: number;
  newLen: number;
  readonly flags: number;
  newAddr: number;
  vma: Vma | undefined;
  delta: number;
  type: RemapType;
  populateExpand: boolean;
}

type Ret = number | Errno;

function impliesNewAddr(r: Remap): boolean {
  return (r.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;
}

/** PAGE_ALIGN of a length in u64 arithmetic, as a number (saturated above 2^53, 0 when it wraps). */
function alignLen(v: U64, field: string): number {
  if (isSmall(v)) return Math.ceil(v / 4096) * 4096;
  return u64Num(pageAlignBig(u64Big(v, field)));
}

/** check_prep_vma: checks against the VMA at addr; sets type, delta and new_addr. */
function checkPrepVma(mm: MmStruct, r: Remap): Errno | null {
  const vma = r.vma;
  if (!vma) return 'EFAULT';
  if (hasAny(vma.vmFlags, VM_SEALED)) return 'EPERM';
  r.delta = Math.abs(r.newLen - r.oldLen);
  r.type = r.oldLen === r.newLen ? 'no-resize' : r.newLen < r.oldLen ? 'shrink' : 'expand';
  if (!impliesNewAddr(r)) r.newAddr = r.addr;
  if (r.type !== 'expand' && !impliesNewAddr(r)) return null;
  if (r.oldLen === 0 && !hasAny(vma.vmFlags, VM_SHARED | VM_MAYSHARE)) return 'EINVAL';
  if (r.flags & MREMAP_DONTUNMAP && hasAny(vma.vmFlags, VM_DONTEXPAND | VM_PFNMAP)) return 'EINVAL';
  const oldLen = r.type === 'shrink' ? r.newLen : r.oldLen;
  if (oldLen > vma.end - r.addr) return 'EFAULT';
  if (r.newLen === r.oldLen) return null;
  if (hasAny(vma.vmFlags, VM_LOCKED)) r.populateExpand = true;
  if (hasAny(vma.vmFlags, VM_DONTEXPAND | VM_PFNMAP)) return 'EFAULT';
  void mm;
  return null;
}

/** shrink_vma: unmap [addr + new_len, addr + old_len), across VMAs and holes. */
function shrinkVma(mm: MmStruct, r: Remap): Errno | null {
  const err = unmapRange(mm, r.addr + r.newLen, r.addr + r.oldLen);
  if (err) return err;
  r.vma = mm.vmas.lookup(r.addr);
  return r.vma ? null : 'EFAULT';
}

/** vrm_set_new_addr: where the moved range goes (get_unmapped_area with the VMA's file). */
function setNewAddr(mm: MmStruct, r: Remap): Errno | null {
  const fixed = (r.flags & MREMAP_FIXED) !== 0;
  const hint = impliesNewAddr(r) ? r.newAddr : 0;
  const res = getUnmappedArea(mm, hint, r.newLen, fixed);
  if (typeof res === 'string') return res;
  r.newAddr = res;
  return null;
}

/** move_vma: copy the VMA to new_addr, move its page tables, unmap the source. */
function moveVma(mm: MmStruct, r: Remap): Ret {
  const cfg = mm.machine.config;
  if (mm.mapCount + 2 > cfg.maxMapCount) return 'ENOMEM';
  const vma = r.vma;
  if (!vma) return 'EFAULT';
  const accounted = hasAny(vma.vmFlags, VM_ACCOUNT);
  let charged = 0;
  if (accounted) {
    charged = r.flags & MREMAP_DONTUNMAP ? r.newLen / 4096 : Math.max(0, (r.newLen - r.oldLen) / 4096);
    if (!vmEnoughMemory(mm.machine, charged)) return 'ENOMEM';
  }
  // copy_vma: an anonymous VMA never faulted takes the pgoff of its new address, so it can merge.
  let pgoff = vma.pgoffAt(r.addr);
  if (vma.isAnonymous && !vma.anonVma) pgoff = r.newAddr / 4096;
  const newVma = insertOrMerge(mm, {
    start: r.newAddr,
    end: r.newAddr + r.newLen,
    vmFlags: vma.vmFlags,
    pgoff,
    file: vma.file,
    anonVma: vma.anonVma,
    anonVmaInherited: vma.anonVmaInherited,
  });
  if (r.oldLen) mm.pushPageOp({ kind: 'move', from: r.addr, to: r.newAddr, len: r.oldLen });
  mm.vmStatAccount(vma.vmFlags, r.newLen / 4096);
  if (hasAny(vma.vmFlags, VM_LOCKED)) mm.lockedVm += r.newLen / 4096;
  if (r.flags & MREMAP_DONTUNMAP) {
    // dontunmap_complete: the source stays mapped, empty, unlocked; a wholly moved one drops its anon_vma.
    const wasStart = vma.start;
    const wasEnd = vma.end;
    vma.vmFlags = clearFlags(vma.vmFlags, VM_LOCKED_MASK);
    if (newVma !== vma && r.addr === wasStart && r.addr + r.oldLen === wasEnd) {
      vma.anonVma = null;
      vma.anonVmaInherited = false;
    }
  } else if (r.oldLen) {
    // The charge moves with the pages: the source's VM_ACCOUNT pages are not unaccounted.
    unmapRange(mm, r.addr, r.addr + r.oldLen, !accounted);
  }
  return r.newAddr;
}

/** mremap_to: MREMAP_FIXED and/or MREMAP_DONTUNMAP. */
function mremapTo(mm: MmStruct, r: Remap): Ret {
  if (r.flags & MREMAP_FIXED) {
    const err = unmapRange(mm, r.newAddr, r.newAddr + r.newLen);
    if (err) return err;
    r.vma = mm.vmas.lookup(r.addr);
    if (!r.vma) return 'EFAULT';
  }
  if (r.type === 'shrink') {
    const err = shrinkVma(mm, r);
    if (err) return err;
    r.oldLen = r.newLen;
  }
  const err = setNewAddr(mm, r);
  if (err) return err;
  return moveVma(mm, r);
}

/** expand_vma_in_place via vma_merge_extend. */
function expandInPlace(mm: MmStruct, vma: Vma, r: Remap): Ret {
  const pages = r.delta / 4096;
  if (hasAny(vma.vmFlags, VM_ACCOUNT) && !vmEnoughMemory(mm.machine, pages)) return 'ENOMEM';
  const merged = mergeNewRange(mm, {
    start: vma.end,
    end: vma.end + r.delta,
    vmFlags: vma.vmFlags,
    pgoff: vma.pgoff + vma.pages,
    file: vma.file,
    anonVma: vma.anonVma,
    anonVmaInherited: vma.anonVmaInherited,
  });
  if (!merged) {
    if (hasAny(vma.vmFlags, VM_ACCOUNT)) vmUnacctMemory(mm.machine, pages);
    return 'ENOMEM';
  }
  r.vma = merged;
  mm.vmStatAccount(merged.vmFlags, pages);
  if (hasAny(merged.vmFlags, VM_LOCKED)) mm.lockedVm += pages;
  return r.addr;
}

function expandVma(mm: MmStruct, r: Remap): Ret {
  const vma = r.vma;
  if (!vma) return 'EFAULT';
  if (vma.end - r.addr === r.oldLen) {
    const end = vma.end + r.delta;
    const free = !mm.vmas.findIntersection(vma.end, end);
    const fits = end - vma.start <= mm.taskSize && vma.start <= mm.taskSize - (end - vma.start);
    if (free && fits) return expandInPlace(mm, vma, r);
  }
  if (!(r.flags & MREMAP_MAYMOVE)) return 'ENOMEM';
  const err = setNewAddr(mm, r);
  if (err) return err;
  return moveVma(mm, r);
}

/** mremap_at: resize without a requested address. */
function mremapAt(mm: MmStruct, r: Remap): Ret {
  switch (r.type) {
    case 'no-resize':
      return r.addr;
    case 'shrink': {
      const err = unmapRange(mm, r.addr + r.newLen, r.addr + r.oldLen);
      return err ?? r.addr;
    }
    case 'expand':
      return expandVma(mm, r);
  }
}

/** remap_move: a same-size MREMAP_FIXED move of every VMA in the range, holes kept. */
function remapMove(mm: MmStruct, r: Remap): Ret {
  const start = r.addr;
  const end = r.addr + r.oldLen;
  let target = r.newAddr;
  let res: Ret = 'EFAULT';
  let seen = false;
  let lastEnd = 0;
  let cursor = start;
  while (cursor < end) {
    const vma = mm.vmas.findIntersection(cursor, end);
    if (!vma) break;
    const addr = Math.max(vma.start, start);
    const len = Math.min(end, vma.end) - addr;
    if (!seen && start < vma.start) return 'EFAULT';
    const offset = seen ? vma.start - lastEnd : 0;
    lastEnd = vma.end;
    const sub: Remap = {
      addr,
      oldLen: len,
      newLen: len,
      flags: r.flags,
      newAddr: target + offset,
      vma,
      delta: 0,
      type: 'no-resize',
      populateExpand: false,
    };
    const err = checkPrepVma(mm, sub);
    if (err) return err;
    const moved = mremapTo(mm, sub);
    if (typeof moved === 'string') return moved;
    if (!seen) res = moved;
    seen = true;
    target = moved + len;
    cursor = addr + len;
  }
  return res;
}

/** mremap(2) (do_mremap, Linux 6.17+ semantics). */
export function mremap(
  mm: MmStruct,
  oldAddr: U64,
  oldLen: U64,
  newLen: U64,
  flags: number,
  newAddr: U64 = 0,
): SyscallResult {
  const a = decodeAddr(oldAddr, 'oldAddr');
  const na = decodeAddr(newAddr, 'newAddr');
  const r: Remap = {
    addr: a.value,
    oldLen: alignLen(oldLen, 'oldLen'),
    newLen: alignLen(newLen, 'newLen'),
    flags,
    newAddr: na.value,
    vma: undefined,
    delta: 0,
    type: 'no-resize',
    populateExpand: false,
  };
  const taskSize = mm.taskSize;
  // check_mremap_params
  if (!Number.isInteger(flags) || flags < 0 || flags > (MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) {
    return { errno: 'EINVAL' };
  }
  if (!a.aligned) return { errno: 'EINVAL' };
  if (r.newLen === 0 || r.newLen > taskSize) return { errno: 'EINVAL' };
  if (impliesNewAddr(r)) {
    if (r.newAddr > taskSize - r.newLen) return { errno: 'EINVAL' };
    if (!na.aligned) return { errno: 'EINVAL' };
    if (!(flags & MREMAP_MAYMOVE)) return { errno: 'EINVAL' };
    if (flags & MREMAP_DONTUNMAP && r.oldLen !== r.newLen) return { errno: 'EINVAL' };
    if (r.addr + r.oldLen > r.newAddr && r.newAddr + r.newLen > r.addr) return { errno: 'EINVAL' };
  }
  // check_map_count_against_split_early: room for two splits by unmaps and two by the move.
  if (mm.mapCount + 4 > mm.machine.config.maxMapCount) return { errno: 'ENOMEM' };
  let res: Ret;
  if (flags & MREMAP_FIXED && r.oldLen === r.newLen) {
    res = remapMove(mm, r);
  } else {
    r.vma = mm.vmas.lookup(r.addr);
    const err = checkPrepVma(mm, r);
    res = err ?? (impliesNewAddr(r) ? mremapTo(mm, r) : mremapAt(mm, r));
  }
  if (typeof res === 'string') return { errno: res };
  if (r.populateExpand && r.newLen > r.oldLen) mmPopulate(mm, r.newAddr + r.oldLen, r.newAddr + r.newLen);
  return { ret: res };
}
