import type { MmStruct } from './mm-struct';
import type { SyscallResult } from './mman';
import { type U64, decodeRange } from './u64';
import { modifyVmaFlags } from './vma-merge';
import { VM_SEALED, hasAny, setFlags } from './vm-flags';

/** mseal(2) (mm/mseal.c): seal [addr, addr+len) for good; the range must be fully mapped. */
export function mseal(mm: MmStruct, addr: U64, len: U64, flags: number | bigint = 0): SyscallResult {
  if (flags !== 0 && flags !== 0n) return { errno: 'EINVAL' };
  const r = decodeRange(addr, len, 'addr', 'len');
  if (!r.startAligned) return { errno: 'EINVAL' };
  if (!r.lenZero && r.len === 0) return { errno: 'EINVAL' };
  if (r.endWrapped) return { errno: 'EINVAL' };
  if (r.end === r.start) return { ret: 0 };
  const { start, end } = r;
  const tree = mm.vmas;
  // range_contains_unmapped
  let prevEnd = start;
  for (let i = tree.indexAfter(start); i < tree.size; i++) {
    const v = tree.get(i);
    if (v.start >= end) break;
    if (v.start > prevEnd) return { errno: 'ENOMEM' };
    prevEnd = v.end;
  }
  if (prevEnd < end) return { errno: 'ENOMEM' };
  let cur = start;
  let vma = tree.findVma(cur);
  while (vma && vma.start < end) {
    const segEnd = Math.min(vma.end, end);
    if (!hasAny(vma.vmFlags, VM_SEALED)) {
      const res = modifyVmaFlags(mm, vma, cur, segEnd, setFlags(vma.vmFlags, VM_SEALED));
      if (res === 'ENOMEM') return { errno: 'ENOMEM' };
      vma = res;
    }
    cur = Math.max(segEnd, Math.min(vma.end, end));
    vma = tree.findVma(cur);
  }
  return { ret: 0 };
}
