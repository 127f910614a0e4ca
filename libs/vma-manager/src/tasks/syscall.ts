/**
 * The memory syscalls a process-table batch carries, validated before any of the batch runs (a
 * refused batch changes nothing), then run on the process's MmProcess.
 */
import { VmaDomainError } from '../errors';
import { MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MAP_ANONYMOUS, type SyscallResult } from '../mman';
import type { MmProcess } from '../process';
import { u64Big, type U64 } from '../u64';
import type { FdTable } from './fd-table';

export type Syscall =
  | {
      readonly kind: 'mmap';
      readonly addr: U64;
      readonly length: U64;
      readonly prot: number;
      readonly flags: number;
      /** -1 (the default) for anonymous memory; else an fd of the process's table (EBADF if not open) */
      readonly fd?: number;
      readonly offset?: U64;
    }
  | { readonly kind: 'munmap'; readonly addr: U64; readonly length: U64 }
  | { readonly kind: 'mprotect'; readonly addr: U64; readonly length: U64; readonly prot: number }
  | {
      readonly kind: 'mremap';
      readonly oldAddr: U64;
      readonly oldLength: U64;
      readonly newLength: U64;
      readonly flags: number;
      readonly newAddr?: U64;
    }
  | { readonly kind: 'madvise'; readonly addr: U64; readonly length: U64; readonly advice: number }
  | { readonly kind: 'mlock' | 'munlock'; readonly addr: U64; readonly length: U64 }
  | { readonly kind: 'mseal'; readonly addr: U64; readonly length: U64; readonly flags?: U64 };

export type SyscallKind = Syscall['kind'];

const U32_LIMIT = 2 ** 32;
const I32_MIN = -(2 ** 31);
const I32_LIMIT = 2 ** 31;

function checkInt(field: string, v: unknown, min: number, limit: number, what: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v >= limit)
    throw new VmaDomainError('invalid-argument', field, v, `not ${what}`);
}

const u32 = (field: string, v: unknown) => checkInt(field, v, 0, U32_LIMIT, 'an unsigned 32-bit integer');
const i32 = (field: string, v: unknown) => checkInt(field, v, I32_MIN, I32_LIMIT, 'a 32-bit integer');
const u64 = (field: string, v: U64 | undefined) => {
  if (v !== undefined) u64Big(v, field);
};

/**
 * Refuses a call the model cannot take, naming the field as `${at}.${name}`: argument types
 * outside the syscall's ABI, and the guard-marker advice (MADV_GUARD_INSTALL/REMOVE), whose
 * page-table side (PTE markers) MmProcess does not implement.
 */
export function checkSyscall(at: string, call: Syscall): void {
  switch (call.kind) {
    case 'mmap':
      u64(`${at}.addr`, call.addr);
      u64(`${at}.length`, call.length);
      u32(`${at}.prot`, call.prot);
      u32(`${at}.flags`, call.flags);
      if (call.fd !== undefined) i32(`${at}.fd`, call.fd);
      u64(`${at}.offset`, call.offset);
      return;
    case 'munmap':
    case 'mlock':
    case 'munlock':
      u64(`${at}.addr`, call.addr);
      u64(`${at}.length`, call.length);
      return;
    case 'mprotect':
      u64(`${at}.addr`, call.addr);
      u64(`${at}.length`, call.length);
      u32(`${at}.prot`, call.prot);
      return;
    case 'mremap':
      u64(`${at}.old_addr`, call.oldAddr);
      u64(`${at}.old_length`, call.oldLength);
      u64(`${at}.new_length`, call.newLength);
      u32(`${at}.flags`, call.flags);
      u64(`${at}.new_addr`, call.newAddr);
      return;
    case 'madvise':
      u64(`${at}.addr`, call.addr);
      u64(`${at}.length`, call.length);
      i32(`${at}.advice`, call.advice);
      if (call.advice === MADV_GUARD_INSTALL || call.advice === MADV_GUARD_REMOVE)
        throw new VmaDomainError(
          'failed-precondition',
          `${at}.advice`,
          call.advice,
          'guard markers (MADV_GUARD_INSTALL/REMOVE) are not implemented by the page-table layer',
        );
      return;
    case 'mseal':
      u64(`${at}.addr`, call.addr);
      u64(`${at}.length`, call.length);
      u64(`${at}.flags`, call.flags);
      return;
    default:
      throw new VmaDomainError(
        'invalid-argument',
        `${at}.kind`,
        (call as { kind?: unknown }).kind,
        'not a syscall',
      );
  }
}

/**
 * Runs a checked call; Linux's refusals come back as errno values. An mmap without MAP_ANONYMOUS
 * maps the file its fd names in `fds` (ksys_mmap_pgoff's fget: EBADF when none).
 */
export function runSyscall(proc: MmProcess, call: Syscall, fds?: FdTable): Promise<SyscallResult> {
  switch (call.kind) {
    case 'mmap': {
      const fd = call.fd ?? -1;
      const file = call.flags & MAP_ANONYMOUS ? undefined : fds?.get(fd);
      if (file)
        return proc.mmapDevice(call.addr, call.length, call.prot, call.flags, fd, call.offset ?? 0, file);
      return proc.mmap(call.addr, call.length, call.prot, call.flags, fd, call.offset ?? 0);
    }
    case 'munmap':
      return proc.munmap(call.addr, call.length);
    case 'mprotect':
      return proc.mprotect(call.addr, call.length, call.prot);
    case 'mremap':
      return proc.mremap(call.oldAddr, call.oldLength, call.newLength, call.flags, call.newAddr ?? 0);
    case 'madvise':
      return proc.madvise(call.addr, call.length, call.advice);
    case 'mlock':
      return proc.mlock(call.addr, call.length);
    case 'munlock':
      return proc.munlock(call.addr, call.length);
    case 'mseal':
      return proc.mseal(call.addr, call.length, call.flags ?? 0);
  }
}
