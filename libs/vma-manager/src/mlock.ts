import type { MmStruct } from './mm-struct';
import type { SyscallResult } from './mman';
import { type U64, isSmall, u64Big, u64Num, pageAlignBig, addBig } from './u64';
import type { Vma } from './vma';
import { modifyVmaFlags } from './vma-merge';
import { mmPopulate } from './populate';
import {
  VM_DROPPABLE,
  VM_HUGETLB,
  VM_LOCKED,
  VM_LOCKED_MASK,
  VM_SPECIAL,
  clearFlags,
  hasAny,
  setFlags,
} from './vm-flags';

/** mlock_fixup: set or clear VM_LOCKED on [start, end) ⊆ vma. */
function mlockFixup(mm: MmStruct, vma: Vma, start: number, end: number, newFlags: number): Vma | 'ENOMEM' {
  const oldFlags = vma.vmFlags;
  if (newFlags === oldFlags || hasAny(oldFlags, VM_SPECIAL | VM_HUGETLB | VM_DROPPABLE)) return vma;
  const res = modifyVmaFlags(mm, vma, start, end, newFlags);
  if (res === 'ENOMEM') return res;
  const n = (end - start) / 4096;
  if (!hasAny(newFlags, VM_LOCKED)) mm.lockedVm -= n;
  else if (!hasAny(oldFlags, VM_LOCKED)) mm.lockedVm += n;
  return res;
}

/** apply_vma_lock_flags: the range must be mapped without holes. */
function applyVmaLockFlags(
  mm: MmStruct,
  start: number,
  end: number,
  endWrapped: boolean,
  flags: number,
): 'EINVAL' | 'ENOMEM' | null {
  if (endWrapped) return 'EINVAL';
  if (end === start) return null;
  const tree = mm.vmas;
  let vma = tree.lookup(start);
  if (!vma) return 'ENOMEM';
  let tmp = vma.start;
  let nstart = start;
  while (vma && vma.start < end) {
    if (vma.start !== tmp) return 'ENOMEM';
    const newFlags = setFlags(clearFlags(vma.vmFlags, VM_LOCKED_MASK), flags);
    tmp = Math.min(vma.end, end);
    const res = mlockFixup(mm, vma, nstart, tmp, newFlags);
    if (res === 'ENOMEM') return res;
    tmp = res.end;
    nstart = tmp;
    vma = tree.findVma(tmp);
  }
  if (tmp < end) return 'ENOMEM';
  return null;
}

/** len = PAGE_ALIGN(len + offset_in_page(start)); start &= PAGE_MASK, in u64 arithmetic. */
function lockRange(addr: U64, len: U64): { start: number; end: number; endWrapped: boolean } {
  if (isSmall(addr) && isSmall(len)) {
    const start = addr - (addr % 4096);
    const l = Math.ceil((len + (addr % 4096)) / 4096) * 4096;
    return { start, end: start + l, endWrapped: false };
  }
  const a = u64Big(addr, 'addr');
  const l = pageAlignBig(addBig(u64Big(len, 'len'), a & 4095n));
  const s = a & ~4095n;
  const e = s + l;
  return { start: u64Num(s), end: u64Num(e & ((1n << 64n) - 1n)), endWrapped: e >= 1n << 64n };
}

/** mlock(2) (do_mlock with flags VM_LOCKED), then __mm_populate. Root: no RLIMIT_MEMLOCK check. */
export function mlock(mm: MmStruct, addr: U64, len: U64): SyscallResult {
  const r = lockRange(addr, len);
  const limit = mm.machine.config.memlockLimit;
  if (limit < Infinity && mm.lockedVm * 4096 + (r.end - r.start) > limit) return { errno: 'ENOMEM' };
  const err = applyVmaLockFlags(mm, r.start, r.end, r.endWrapped, VM_LOCKED);
  if (err) return { errno: err };
  // __mlock_posix_error_return: EFAULT (PROT_NONE) → ENOMEM.
  if (r.end > r.start && mmPopulate(mm, r.start, r.end)) return { errno: 'ENOMEM' };
  return { ret: 0 };
}

/** munlock(2) */
export function munlock(mm: MmStruct, addr: U64, len: U64): SyscallResult {
  const r = lockRange(addr, len);
  const err = applyVmaLockFlags(mm, r.start, r.end, r.endWrapped, 0);
  return err ? { errno: err } : { ret: 0 };
}
