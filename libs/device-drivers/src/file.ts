/**
 * struct file and struct file_operations, and the VFS checks around read/write
 * (fs/read_write.c vfs_read/vfs_write, rw_verify_area) that run before a driver is called.
 */
import type { Errno } from '@pagemesh/uapi';

import type { DriverVma, MmapResult } from './vm';

/** open(2) access modes (include/uapi/asm-generic/fcntl.h). */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
/** f_mode bits (include/linux/fs.h). */
export const FMODE_READ = 0x1;
export const FMODE_WRITE = 0x2;
/** MAX_RW_COUNT = INT_MAX & PAGE_MASK: the most one read or write moves. */
export const MAX_RW_COUNT = 0x7ffff000;

/** The file position a read or write works on: &file->f_pos for read(2), a local copy for pread(2). */
export interface FilePos {
  pos: number;
}

export type ReadResult = { readonly data: Uint8Array } | { readonly errno: Errno };
export type WriteResult = { readonly written: number } | { readonly errno: Errno };

/**
 * A driver's file_operations. `write` gets the bytes the caller could copy from user memory and the
 * count the user asked for: `data.length < count` means copy_from_user stopped at a fault after
 * `data.length` bytes (the driver sees exactly what copy_from_user would have given it).
 */
export interface FileOperations {
  open?(file: DriverFile): Promise<Errno | null>;
  release?(file: DriverFile): Promise<void>;
  read?(file: DriverFile, count: number, pos: FilePos): Promise<ReadResult>;
  write?(file: DriverFile, data: Uint8Array, count: number, pos: FilePos): Promise<WriteResult>;
  mmap?(file: DriverFile, vma: DriverVma): Promise<MmapResult>;
}

/** struct file, as far as a character device cares. */
export class DriverFile {
  /** f_count: the fd and every VMA mapping the file hold one reference each. */
  count = 1;
  fPos = 0;
  /** private_data, the driver's own. */
  privateData: unknown = undefined;

  constructor(
    readonly id: number,
    readonly path: string,
    readonly major: number,
    readonly minor: number,
    /** open(2) flags as given. */
    readonly flags: number,
    readonly fops: FileOperations,
    /** The module whose fops these are (the file pins it). */
    readonly owner: string,
  ) {}

  /** OPEN_FMODE(flags): O_RDONLY → READ, O_WRONLY → WRITE, O_RDWR → both, 3 → neither. */
  get fMode(): number {
    const acc = this.flags & O_ACCMODE;
    return acc === O_RDONLY
      ? FMODE_READ
      : acc === O_WRONLY
        ? FMODE_WRITE
        : acc === O_RDWR
          ? FMODE_READ | FMODE_WRITE
          : 0;
  }
}

/** vfs_read() up to the driver: EBADF without FMODE_READ, EINVAL with no read op or a negative position. */
export async function vfsRead(file: DriverFile, count: number, pos: FilePos): Promise<ReadResult> {
  if (!(file.fMode & FMODE_READ)) return { errno: 'EBADF' };
  if (!file.fops.read) return { errno: 'EINVAL' };
  if (pos.pos < 0) return { errno: 'EINVAL' };
  return file.fops.read(file, Math.min(count, MAX_RW_COUNT), pos);
}

/** vfs_write() up to the driver: EBADF without FMODE_WRITE, EINVAL with no write op or a negative position. */
export async function vfsWrite(
  file: DriverFile,
  data: Uint8Array,
  count: number,
  pos: FilePos,
): Promise<WriteResult> {
  if (!(file.fMode & FMODE_WRITE)) return { errno: 'EBADF' };
  if (!file.fops.write) return { errno: 'EINVAL' };
  if (pos.pos < 0) return { errno: 'EINVAL' };
  const n = Math.min(count, MAX_RW_COUNT);
  return file.fops.write(file, data.length > n ? data.subarray(0, n) : data, n, pos);
}
