/**
 * What /proc/PID/maps prints for a device node's mapping: the superblock's device and the node's
 * inode number (show_map_vma: `MAJOR(dev):MINOR(dev) ino`). The nodes live on devtmpfs; the
 * device-drivers layer knows the node, the vma-manager the file it maps, so whichever adapter
 * opens device files for the vma-manager numbers the inodes with this.
 */

/**
 * s_dev of devtmpfs, the filesystem /dev/mymmap lives on, as maps prints it for a device mapping
 * (the superblock's device, not the node's i_rdev 42:0): `00:05` (kernel-semantics.md §8.3).
 */
export const DEVTMPFS_DEV = { major: 0, minor: 5 } as const;

/**
 * The first inode number handed to a device node. devtmpfs numbers its inodes as it creates them,
 * so the value is arbitrary; it only has to be stable for one node.
 */
export const FIRST_DEVTMPFS_INO = 1000;

/** Inode numbers of device nodes by path: the first path seen gets FIRST_DEVTMPFS_INO, and so on. */
export class DevtmpfsInodes {
  private readonly inodes = new Map<string, number>();

  ino(path: string): number {
    let n = this.inodes.get(path);
    if (n === undefined) this.inodes.set(path, (n = FIRST_DEVTMPFS_INO + this.inodes.size));
    return n;
  }
}
