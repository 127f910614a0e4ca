/**
 * A process's file descriptor table (struct files_struct, fs/file.c): fd → open file. Each fd
 * holds one reference on its file; the references themselves are taken and dropped by the
 * process table through the device-files port.
 */
import type { Errno } from '@pagemesh/uapi';
import type { DeviceFileInfo } from '../ports';

/** RLIMIT_NOFILE's default soft limit (include/asm-generic/resource.h INR_OPEN_CUR) */
export const NR_OPEN_DEFAULT = 1024;

export class FdTable {
  private readonly fds = new Map<number, DeviceFileInfo>();

  constructor(
    /** RLIMIT_NOFILE: fds are 0 .. limit - 1 */
    readonly limit = NR_OPEN_DEFAULT,
  ) {}

  /** alloc_fd(0, rlimit(RLIMIT_NOFILE)): the lowest free fd, or EMFILE when all are taken. */
  lowestFree(): number | Errno {
    for (let fd = 0; fd < this.limit; fd++) if (!this.fds.has(fd)) return fd;
    return 'EMFILE';
  }

  /** fd_install at `fd` (taken from lowestFree). */
  install(fd: number, file: DeviceFileInfo): void {
    this.fds.set(fd, file);
  }

  /** fget: the file at `fd`, or undefined (the syscall's EBADF) for a negative, closed or too large fd. */
  get(fd: number): DeviceFileInfo | undefined {
    return this.fds.get(fd);
  }

  /** close_fd: removes `fd` and gives its file (whose reference the caller drops), or undefined (EBADF). */
  remove(fd: number): DeviceFileInfo | undefined {
    const f = this.fds.get(fd);
    if (f) this.fds.delete(fd);
    return f;
  }

  /** dup_fd: a copy for a forked child; each file gains one reference (taken by the caller). */
  clone(): FdTable {
    const t = new FdTable(this.limit);
    for (const [fd, f] of this.fds) t.fds.set(fd, f);
    return t;
  }

  /** Every open fd with its file, lowest first. */
  entries(): [number, DeviceFileInfo][] {
    return [...this.fds.entries()].sort((a, b) => a[0] - b[0]);
  }

  /** close_files at exit: empties the table, giving the files whose references the caller drops. */
  closeAll(): DeviceFileInfo[] {
    const out = this.entries().map(([, f]) => f);
    this.fds.clear();
    return out;
  }

  get size(): number {
    return this.fds.size;
  }
}
