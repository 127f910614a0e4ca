import { type Arch, Mmu, inprocPageAllocatorPort, vmGetPageProt } from '@pagemesh/mmu';
import { type PageAllocator, bootMachine } from '@pagemesh/page-allocator';
import { PAGE_SIZE } from '@pagemesh/uapi';

import { DeviceDrivers } from '../device-drivers';
import { inprocDriverPorts } from '../inproc-ports';
import {
  type DriverVma,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
} from '../vm';

/** A booted machine with the device-drivers layer over it, in-process (for tests). */
export interface LabMachine {
  readonly pa: PageAllocator;
  readonly mmu: Mmu;
  readonly dd: DeviceDrivers;
}

export async function bootLabMachine(arch: Arch = 'x86_64', memBytes = 128 * 2 ** 20): Promise<LabMachine> {
  const pa = bootMachine({ arch, memBytes });
  const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 2 });
  const dd = await DeviceDrivers.create(inprocDriverPorts(pa, mmu));
  return { pa, mmu, dd };
}

export interface MmapArgs {
  readonly start: number;
  readonly pages: number;
  readonly prot: { read?: boolean; write?: boolean };
  readonly shared: boolean;
  /** f_mode of the file: FMODE_WRITE keeps VM_MAYWRITE on a shared mapping. */
  readonly fileWritable: boolean;
  readonly pgoff?: number;
}

/**
 * The VMA do_mmap would build for a device file (mm/mmap.c): VM_MAY* from the file's mode, and
 * vm_page_prot = vm_get_page_prot(vm_flags). What the vma-manager will send; built here for tests.
 */
export function deviceVma(mmu: Mmu, a: MmapArgs): DriverVma {
  let flags =
    (a.prot.read ? VM_READ : 0) | (a.prot.write ? VM_WRITE : 0) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (a.shared) {
    flags |= VM_SHARED | VM_MAYSHARE;
    if (!a.fileWritable) flags &= ~(VM_MAYWRITE | VM_SHARED);
  }
  return {
    vmStart: a.start,
    vmEnd: a.start + a.pages * PAGE_SIZE,
    vmFlags: flags,
    vmPgoff: a.pgoff ?? 0,
    vmPageProt: vmGetPageProt(flags, mmu.profile.prot),
  };
}
