/**
 * errno values as x86 Linux defines them (include/uapi/asm-generic/errno-base.h and errno.h).
 * A simulated syscall that fails returns one of these names, never a thrown error.
 */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  ENOTBLK: 15,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  EDOM: 33,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
} as const;

export type Errno = keyof typeof ERRNO;

const byNumber = new Map<number, Errno>(Object.entries(ERRNO).map(([name, n]) => [n, name as Errno]));

/** The errno name for a number, as strerrorname_np would give it. */
export function errnoName(n: number): Errno | undefined {
  return byNumber.get(Math.abs(n));
}

export function isErrno(name: string): name is Errno {
  return Object.prototype.hasOwnProperty.call(ERRNO, name);
}
