import { applyRemapRequests, type DeviceDrivers, type DriverVma } from '@pagemesh/device-drivers';
import { type Mmu, vmGetPageProt } from '@pagemesh/mmu';
import type { DeviceFileInfo, DeviceFilesPort } from '@pagemesh/vma-manager';

/**
 * s_dev of devtmpfs, the filesystem /dev/mymmap lives on, as /proc/PID/maps prints it for a device
 * mapping (the superblock's device, not the node's i_rdev 42:0): `00:05` (kernel-semantics.md §8.3).
 */
export const DEVTMPFS_DEV = { major: 0, minor: 5 } as const;
/**
 * The first inode number handed to a device node. devtmpfs numbers its inodes as it creates them,
 * so the value is arbitrary; it only has to be stable for one node.
 */
const FIRST_DEVTMPFS_INO = 1000;

/**
 * The vma-manager's device-files port over DeviceDrivers and the mmu in the same process. A
 * driver's mmap answers with its remap_pfn_range calls; they are applied here, to the caller's
 * address space, through the mmu (applyRemapRequests: in call order, undone at the first refusal).
 */
export function inprocDeviceFilesPort(dd: DeviceDrivers, mmu: Mmu): DeviceFilesPort {
  const inodes = new Map<string, number>();
  const ino = (path: string): number => {
    let n = inodes.get(path);
    if (n === undefined) inodes.set(path, (n = FIRST_DEVTMPFS_INO + inodes.size));
    return n;
  };
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
        ino: ino(r.file.path),
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
