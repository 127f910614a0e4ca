import type { MmStruct } from './mm-struct';
import {
  MAP_ANONYMOUS,
  MAP_DROPPABLE,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_STACK,
  MAP_SYNC,
  MAP_TYPE,
  MAP_32BIT,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  type SyscallResult,
} from './mman';
import { type U64, decodeAddr, decodeRange } from './u64';
import { getUnmappedArea } from './get-unmapped-area';
import { completeMunmap, gatherMunmap } from './munmap';
import { vmEnoughMemory } from './overcommit';
import { insertOrMerge } from './vma-merge';
import { mmPopulate } from './populate';
import { Vma, type VmFile } from './vma';
import { FMODE_READ, FMODE_WRITE } from './ports';
import {
  VM_ACCOUNT,
  VM_DONTDUMP,
  VM_DROPPABLE,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NOHUGEPAGE,
  VM_NORESERVE,
  VM_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_SYNC,
  VM_WIPEONFORK,
  VM_WRITE,
  clearFlags,
  hasAny,
  setFlags,
} from './vm-flags';

/** calc_vm_prot_bits: PROT_READ/WRITE/EXEC to VM_READ/WRITE/EXEC; other bits are ignored. */
export function calcVmProtBits(prot: number): number {
  return (
    (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0)
  );
}

/** calc_vm_flag_bits: MAP_GROWSDOWN, MAP_LOCKED, MAP_SYNC and MAP_STACK (VM_NOHUGEPAGE with THP). */
function calcVmFlagBits(flags: number): number {
  return (
    (flags & MAP_GROWSDOWN ? VM_GROWSDOWN : 0) |
    (flags & MAP_LOCKED ? VM_LOCKED : 0) |
    (flags & MAP_SYNC ? VM_SYNC : 0) |
    (flags & MAP_STACK ? VM_NOHUGEPAGE : 0)
  );
}

/** accountable_mapping: private writable memory without MAP_NORESERVE is charged. */
function accountable(vmFlags: number): boolean {
  return hasAny(vmFlags, VM_WRITE) && !hasAny(vmFlags, VM_NORESERVE | VM_SHARED);
}

/** An open file an mmap maps: the VMA's vm_file and the file's FMODE_READ/FMODE_WRITE. */
export interface MmapFile {
  readonly vmFile: VmFile;
  readonly fMode: number;
}

/** MAX_LFS_FILESIZE on 64-bit (include/linux/fs.h): LLONG_MAX */
const MAX_LFS_FILESIZE = 2 ** 63 - 1;

/**
 * mmap(2) (sys_mmap → ksys_mmap_pgoff → do_mmap → mmap_region), with the kernel's order of
 * checks, of anonymous memory or of `file` (the open file `fd` names, resolved by the caller).
 * Without MAP_ANONYMOUS and without a file it is EBADF. A file mapping only creates the VMA here
 * (never merged: its driver's mmap makes it VM_SPECIAL); the caller asks the driver's mmap and
 * removes the VMA again if that fails.
 */
export function mmap(
  mm: MmStruct,
  addr: U64,
  len: U64,
  prot: number,
  flags: number,
  fd = -1,
  offset: U64 = 0,
  file: MmapFile | null = null,
): SyscallResult {
  const off = decodeAddr(offset, 'offset');
  if (!off.aligned) return { errno: 'EINVAL' };
  if (flags & MAP_ANONYMOUS) file = null;
  else if (!file) return { errno: 'EBADF' };
  void fd;
  const r = decodeRange(addr, len, 'addr', 'len');
  if (r.lenZero) return { errno: 'EINVAL' };
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  const fixed = (flags & MAP_FIXED) !== 0;
  let start = r.start;
  if (!fixed) {
    // round_hint_to_min
    start -= start % 4096;
    const min = mm.machine.config.mmapMinAddr;
    if (start !== 0 && start < min) start = Math.ceil(min / 4096) * 4096;
  }
  const length = r.len;
  if (length === 0) return { errno: 'ENOMEM' };
  const cfg = mm.machine.config;
  if (mm.mapCount > cfg.maxMapCount) return { errno: 'ENOMEM' };
  // An unaligned MAP_FIXED address is refused by __get_unmapped_area, after its length checks.
  // MAP_32BIT ignores the hint and takes the legacy bottom-up search below 2 GiB on x86-64: here,
  // anywhere but the hint (it never lands in the range a caller asked for).
  const hint = !fixed && flags & MAP_32BIT ? 0 : start;
  const area = getUnmappedArea(mm, hint, length, fixed);
  if (area === 'ENOMEM' || area === 'EINVAL') return { errno: area };
  start = area;
  const end = start + length;
  if (flags & MAP_FIXED_NOREPLACE && mm.vmas.findIntersection(start, end)) return { errno: 'EEXIST' };

  let vmFlags = calcVmProtBits(prot) | calcVmFlagBits(flags) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (
    flags & MAP_LOCKED &&
    cfg.memlockLimit < Infinity &&
    (mm.lockedVm + length / 4096) * 4096 > cfg.memlockLimit
  ) {
    return { errno: 'EAGAIN' };
  }
  let pgoff: number;
  let shared = false;
  if (file) {
    // file_mmap_ok: offset + len beyond MAX_LFS_FILESIZE
    if (off.value + length > MAX_LFS_FILESIZE) return { errno: 'EOVERFLOW' };
    const fm = file.fMode;
    switch (flags & MAP_TYPE) {
      case MAP_SHARED:
      case MAP_SHARED_VALIDATE:
        if (prot & PROT_WRITE && !(fm & FMODE_WRITE)) return { errno: 'EACCES' };
        vmFlags |= VM_SHARED | VM_MAYSHARE;
        // A read-only open can never be written through the mapping: no VM_MAYWRITE, no
        // VM_SHARED, but VM_MAYSHARE stays (maps still shows `s`).
        if (!(fm & FMODE_WRITE)) vmFlags = clearFlags(vmFlags, VM_MAYWRITE | VM_SHARED);
        break;
      case MAP_PRIVATE:
        break;
      default:
        return { errno: 'EINVAL' };
    }
    if (!(fm & FMODE_READ)) return { errno: 'EACCES' };
    if (flags & MAP_NORESERVE && cfg.overcommitMemory !== 2) vmFlags = setFlags(vmFlags, VM_NORESERVE);
    return mmapRegion(mm, start, end, vmFlags, off.value / 4096, false, false, file.vmFile);
  }
  switch (flags & MAP_TYPE) {
    case MAP_SHARED:
      if (vmFlags & VM_GROWSDOWN) return { errno: 'EINVAL' };
      pgoff = 0;
      vmFlags |= VM_SHARED | VM_MAYSHARE;
      shared = true;
      break;
    case MAP_DROPPABLE:
      if (flags & (MAP_LOCKED | MAP_HUGETLB)) return { errno: 'EINVAL' };
      if (vmFlags & VM_GROWSDOWN) return { errno: 'EINVAL' };
      // Droppable pages are never reserved, not inherited and not dumped.
      vmFlags = setFlags(vmFlags, VM_DROPPABLE | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP);
      pgoff = start / 4096;
      break;
    case MAP_PRIVATE:
      pgoff = start / 4096;
      break;
    default:
      return { errno: 'EINVAL' };
  }
  if (flags & MAP_NORESERVE && cfg.overcommitMemory !== 2) vmFlags = setFlags(vmFlags, VM_NORESERVE);

  return mmapRegion(
    mm,
    start,
    end,
    vmFlags,
    pgoff,
    shared,
    (flags & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE,
  );
}

/** mmap_region / __mmap_region for anonymous memory, or for a device file's new VMA. */
function mmapRegion(
  mm: MmStruct,
  start: number,
  end: number,
  vmFlags: number,
  pgoff: number,
  shared: boolean,
  populate: boolean,
  deviceFile: VmFile | null = null,
): SyscallResult {
  const pages = (end - start) / 4096;
  // __mmap_prepare: gather what MAP_FIXED replaces (sealed → EPERM), then charge the commit.
  const g = gatherMunmap(mm, start, end);
  if (typeof g === 'string') return { errno: g };
  const charge = accountable(vmFlags);
  if (charge) {
    // The replaced range's charge carries over: charged = pglen - nr_accounted.
    if (!vmEnoughMemory(mm.machine, pages - g.accountedPages)) return { errno: 'ENOMEM' };
    vmFlags = setFlags(vmFlags, VM_ACCOUNT);
  }
  completeMunmap(mm, g, !charge);
  if (deviceFile) {
    // The driver's mmap turns it into a VM_SPECIAL VMA, which never merges: insert it as is.
    mm.vmas.insert(new Vma(start, end, vmFlags, pgoff, deviceFile, null));
    mm.vmStatAccount(vmFlags, pages);
    return { ret: start };
  }
  const file = shared ? mm.newShmemFile(pages) : null;
  const vma = insertOrMerge(mm, {
    start,
    end,
    vmFlags,
    pgoff,
    file,
    anonVma: null,
    anonVmaInherited: false,
  });
  // __mmap_complete
  mm.vmStatAccount(vmFlags, pages);
  let locked = hasAny(vmFlags, VM_LOCKED);
  if (locked && hasAny(vmFlags, VM_SPECIAL | VM_DROPPABLE)) {
    vma.vmFlags = clearFlags(vma.vmFlags, VM_LOCKED);
    locked = false;
  }
  if (locked) mm.lockedVm += pages;
  if (locked || populate) mmPopulate(mm, start, end);
  return { ret: start };
}
