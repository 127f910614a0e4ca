import { applyRemapRequests, type DeviceDrivers, type DriverVma } from '@pagemesh/device-drivers';
import { type Mmu, vmGetPageProt } from '@pagemesh/mmu';
import {
  DEVTMPFS_DEV,
  DevtmpfsInodes,
  type DeviceFileInfo,
  type DeviceFilesPort,
} from '@pagemesh/vma-manager';

/**
 * The vma-manager's device-files port over DeviceDrivers and the mmu in the same process. A
 * driver's mmap answers with its remap_pfn_range calls; they are applied here, to the caller's
 * address space, through the mmu (applyRemapRequests: in call order, undone at the first refusal).
 */
export function inprocDeviceFilesPort(dd: DeviceDrivers, mmu: Mmu): DeviceFilesPort {
  const inodes = new DevtmpfsInodes();
  return {
    async open(path, flags) {
      const r = await dd.open(path, flags);
      if ('errno' in r) return { errno: r.errno };
      const file: DeviceFileInfo = {
        id: r.file.id,
        path: r.file.path,
        fMode: r.file.fMode,
        devMajor: DEVTMPFS_DEV.major,
        devMinor: DEVTMPFS_DEV.minor,
        ino: inodes.ino(r.file.path),
      };
      return { file };
    },
    async getFiles(ids) {
      for (const id of ids) await dd.getFile(id);
    },
    async putFiles(ids) {
      for (const id of ids) await dd.fput(id);
    },
    read: (id, count) => dd.read(id, count),
    write: (id, bytes) => dd.write(id, bytes),
    async mmap(id, asid, vma) {
      const driverVma: DriverVma = {
        vmStart: vma.start,
        vmEnd: vma.end,
        vmFlags: vma.vmFlags,
        vmPgoff: vma.pgoff,
        vmPageProt: vmGetPageProt(vma.vmFlags, mmu.profile.prot),
      };
      const r = await dd.mmap(id, driverVma);
      if ('errno' in r) return { errno: r.errno };
      const out = await applyRemapRequests(mmu, asid, driverVma, r.requests);
      if (out.errno !== null) return { errno: out.errno };
      return { vmFlags: out.vmFlags, pgoff: out.vmPgoff };
    },
    readProc: (name, caller) => dd.readProc(name, caller),
  };
}
