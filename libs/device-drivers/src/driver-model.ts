/**
 * Character-device numbers, regions, cdevs and device nodes (fs/char_dev.c, include/linux/kdev_t.h,
 * the mknod/unlink side of fs/namei.c). Synchronous state; the facade serializes calls.
 */
import type { Errno } from '@pagemesh/uapi';

import { InvalidArgumentError } from './errors';
import type { FileOperations } from './file';

/** MINORBITS (include/linux/kdev_t.h): a dev_t is major << 20 | minor. */
export const MINORBITS = 20;
export const MINORMASK = (1 << MINORBITS) - 1;
/** CHRDEV_MAJOR_MAX (include/linux/fs.h): majors 0..511. */
export const CHRDEV_MAJOR_MAX = 512;

export function mkdev(major: number, minor: number): number {
  return major * 2 ** MINORBITS + minor;
}
export function majorOf(dev: number): number {
  return Math.floor(dev / 2 ** MINORBITS);
}
export function minorOf(dev: number): number {
  return dev % 2 ** MINORBITS;
}

export interface ChrdevRegion {
  readonly major: number;
  readonly baseminor: number;
  readonly minorct: number;
  readonly name: string;
}

/** struct cdev: the fops of a range of device numbers and the module that owns them. */
export interface Cdev {
  readonly dev: number;
  readonly count: number;
  readonly fops: FileOperations;
  readonly owner: string;
}

export interface DeviceNode {
  readonly path: string;
  readonly type: 'c';
  readonly major: number;
  readonly minor: number;
}

/** The kernel's char-device tables and the /dev directory. */
export class CharDevices {
  private readonly regions: ChrdevRegion[] = [];
  /** Newest last: kobj_lookup finds the most recently added cdev covering a number. */
  private readonly cdevs: Cdev[] = [];
  private readonly nodes = new Map<string, DeviceNode>();

  /**
   * register_chrdev_region(MKDEV(major, baseminor), count, name) for a range inside one major
   * (the only form the drivers here use): EINVAL for a major beyond CHRDEV_MAJOR_MAX or minors
   * beyond MINORMASK, EBUSY when it overlaps a registered range.
   */
  registerRegion(major: number, baseminor: number, count: number, name: string): Errno | null {
    checkUint('major', major);
    checkUint('baseminor', baseminor);
    checkUint('count', count);
    if (major >= CHRDEV_MAJOR_MAX) return 'EINVAL';
    if (count > MINORMASK + 1 - baseminor) return 'EINVAL';
    const overlaps = this.regions.some(
      (r) => r.major === major && r.baseminor < baseminor + count && baseminor < r.baseminor + r.minorct,
    );
    if (overlaps) return 'EBUSY';
    this.regions.push({ major, baseminor, minorct: count, name: name.slice(0, 63) });
    return null;
  }

  /** unregister_chrdev_region: removes the exactly matching range (none: nothing happens, as in Linux). */
  unregisterRegion(major: number, baseminor: number, count: number): void {
    const i = this.regions.findIndex(
      (r) => r.major === major && r.baseminor === baseminor && r.minorct === count,
    );
    if (i >= 0) this.regions.splice(i, 1);
  }

  /** cdev_add: makes the device live immediately. */
  cdevAdd(cdev: Cdev): void {
    this.cdevs.push(cdev);
  }

  /** cdev_del: no new opens; files already open keep their fops. */
  cdevDel(cdev: Cdev): void {
    const i = this.cdevs.lastIndexOf(cdev);
    if (i >= 0) this.cdevs.splice(i, 1);
  }

  /** kobj_lookup(cdev_map, dev). */
  lookup(dev: number): Cdev | null {
    for (let i = this.cdevs.length - 1; i >= 0; i--) {
      const c = this.cdevs[i];
      if (dev >= c.dev && dev < c.dev + c.count) return c;
    }
    return null;
  }

  /** mknod(path, S_IFCHR, MKDEV(major, minor)): EEXIST when the path exists. */
  mknod(path: string, major: number, minor: number): Errno | null {
    checkPath(path);
    checkUint('major', major);
    checkUint('minor', minor);
    if (major >= 2 ** 12 || minor > MINORMASK)
      throw new InvalidArgumentError('major', major, 'a dev_t has a 12-bit major and a 20-bit minor');
    if (this.nodes.has(path)) return 'EEXIST';
    this.nodes.set(path, { path, type: 'c', major, minor });
    return null;
  }

  /** unlink(path): ENOENT when there is no such node. Open files keep working. */
  unlink(path: string): Errno | null {
    checkPath(path);
    return this.nodes.delete(path) ? null : 'ENOENT';
  }

  node(path: string): DeviceNode | null {
    checkPath(path);
    return this.nodes.get(path) ?? null;
  }

  nodeList(): DeviceNode[] {
    return [...this.nodes.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  cdevList(): readonly Cdev[] {
    return [...this.cdevs];
  }

  regionList(): ChrdevRegion[] {
    return [...this.regions].sort((a, b) => a.major - b.major || a.baseminor - b.baseminor);
  }

  /**
   * The "Character devices:" part of /proc/devices (fs/proc/devices.c, chrdev_show: "%3d %s\n"
   * per region, by major). Only the regions registered here: the kernel's own (1 mem, 4 tty ...)
   * are not modelled.
   */
  procDevices(): string {
    const lines = this.regionList().map((r) => `${String(r.major).padStart(3)} ${r.name}\n`);
    return `Character devices:\n${lines.join('')}`;
  }
}

function checkUint(field: string, v: number): void {
  if (!Number.isInteger(v) || v < 0)
    throw new InvalidArgumentError(field, v, 'must be a non-negative integer');
}

/** Device nodes are named by absolute paths ("/dev/mymmap"); there is no cwd to resolve against. */
export function checkPath(path: string): void {
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > 4095 || path.includes('\0'))
    throw new InvalidArgumentError('path', path, 'must be an absolute path (at most 4095 bytes, no NUL)');
}
