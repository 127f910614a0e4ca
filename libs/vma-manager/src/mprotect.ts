import type { MmStruct } from './mm-struct';
import {
  PROT_EXEC,
  PROT_GROWSDOWN,
  PROT_GROWSUP,
  PROT_READ,
  PROT_SEM,
  PROT_WRITE,
  type SyscallResult,
} from './mman';
import { type U64, decodeRange } from './u64';
import type { Vma } from './vma';
import { modifyVmaFlags } from './vma-merge';
import { vmEnoughMemory, vmUnacctMemory } from './overcommit';
import { calcVmProtBits } from './mmap';
import { mmPopulate } from './populate';
import {
  VM_ACCESS_FLAGS,
  VM_ACCOUNT,
  VM_GROWSDOWN,
  VM_HUGETLB,
  VM_LOCKED,
  VM_NORESERVE,
  VM_SEALED,
  VM_SHARED,
  VM_WRITE,
  clearFlags,
  hasAny,
  maskFlags,
  setFlags,
} from './vm-flags';

/** arch_validate_prot (generic): only READ, WRITE, EXEC and SEM. */
const VALID_PROT = PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM;

/**
 * mprotect_fixup: give [start, end) ⊆ vma its new flags. Returns the VMA now holding the range,
 * or an errno. Sealed VMAs refuse even a change to the same protection.
 */
export function mprotectFixup(
  mm: MmStruct,
  vma: Vma,
  start: number,
  end: number,
  newFlags: number,
): Vma | 'EPERM' | 'ENOMEM' {
  if (hasAny(vma.vmFlags, VM_SEALED)) return 'EPERM';
  const oldFlags = vma.vmFlags;
  if (newFlags === oldFlags) return vma;
  const nrPages = (end - start) / 4096;
  let charged = 0;
  if (hasAny(newFlags, VM_WRITE)) {
    if (!hasAny(oldFlags, VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE)) {
      charged = nrPages;
      if (!vmEnoughMemory(mm.machine, charged)) return 'ENOMEM';
      newFlags = setFlags(newFlags, VM_ACCOUNT);
    }
  } else if (hasAny(oldFlags, VM_ACCOUNT) && vma.isAnonymous && !vma.anonVma) {
    newFlags = clearFlags(newFlags, VM_ACCOUNT);
  }
  const res = modifyVmaFlags(mm, vma, start, end, newFlags);
  if (res === 'ENOMEM') {
    if (charged) vmUnacctMemory(mm.machine, charged);
    return res;
  }
  mm.pushPageOp({ kind: 'protect', start, end, vmFlags: newFlags });
  if (hasAny(oldFlags, VM_ACCOUNT) && !hasAny(newFlags, VM_ACCOUNT)) vmUnacctMemory(mm.machine, nrPages);
  mm.vmStatAccount(oldFlags, -nrPages);
  mm.vmStatAccount(newFlags, nrPages);
  // A private VM_LOCKED mapping turning writable is populated (COW) right away.
  if (maskFlags(oldFlags, VM_WRITE | VM_SHARED | VM_LOCKED) === VM_LOCKED && hasAny(newFlags, VM_WRITE)) {
    mmPopulate(mm, start, end);
  }
  return res;
}

/** mprotect(2) (do_mprotect_pkey without pkeys). */
export function mprotect(mm: MmStruct, addr: U64, len: U64, prot: number): SyscallResult {
  const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return { errno: 'EINVAL' };
  const r = decodeRange(addr, len, 'addr', 'len');
  if (!r.startAligned) return { errno: 'EINVAL' };
  if (r.lenZero) return { ret: 0 };
  if (r.len === 0 || r.endWrapped || r.end <= r.start) return { errno: 'ENOMEM' };
  if (prot & ~VALID_PROT) return { errno: 'EINVAL' };
  let start = r.start;
  const end = r.end;
  const tree = mm.vmas;
  let vma = tree.findIntersection(start, end);
  if (!vma) return { errno: 'ENOMEM' };
  if (grows & PROT_GROWSDOWN) {
    start = vma.start;
    if (!hasAny(vma.vmFlags, VM_GROWSDOWN)) return { errno: 'EINVAL' };
  } else if (vma.start > start) {
    return { errno: 'ENOMEM' };
  }
  const protBits = calcVmProtBits(prot);
  let tmp = vma.start;
  let nstart = start;
  while (vma && vma.start < end) {
    if (vma.start !== tmp) return { errno: 'ENOMEM' };
    const newFlags = setFlags(protBits, clearFlags(vma.vmFlags, VM_ACCESS_FLAGS));
    // A bit of R/W/X requested without its VM_MAYx.
    if (protBits & ~(maskFlags(newFlags, 0xff) >> 4) & VM_ACCESS_FLAGS) return { errno: 'EACCES' };
    tmp = Math.min(vma.end, end);
    const res = mprotectFixup(mm, vma, nstart, tmp, newFlags);
    if (typeof res === 'string') return { errno: res };
    tmp = res.end;
    nstart = tmp;
    vma = tree.findVma(tmp);
  }
  if (tmp < end) return { errno: 'ENOMEM' };
  return { ret: 0 };
}
