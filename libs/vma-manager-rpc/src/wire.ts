import { ERRNO } from '@pagemesh/uapi';
import {
  Errno,
  FaultOutcome,
  ProcessProcFile,
  type Syscall as WireSyscall,
  type SyscallResult as WireResult,
} from '@pagemesh/proto';
import { DomainError } from '@pagemesh/service-kit';
import type {
  FaultOutcome as DomainOutcome,
  ProcFileName,
  Syscall,
  SyscallResult,
  U64,
} from '@pagemesh/vma-manager';

/**
 * A syscall argument from the wire. Syscall arguments are raw unsigned longs, not addresses yet:
 * a non-canonical or huge value is the caller's to pass and the syscall's to refuse with Linux's
 * errno, so it is kept exactly (a bigint above 2^53, as the VMA model takes it).
 */
export function u64FromWire(v: bigint): U64 {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function u64(v: U64): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

/** A proto Syscall's call → the domain's; a missing oneof is refused naming `${at}.call`. */
export function syscallFromWire(at: string, s: WireSyscall): Syscall {
  const c = s.call;
  switch (c?.$case) {
    case 'mmap':
      return {
        kind: 'mmap',
        addr: u64FromWire(c.value.addr),
        length: u64FromWire(c.value.length),
        prot: c.value.prot,
        flags: c.value.flags,
        fd: c.value.fd,
        offset: u64FromWire(c.value.offset),
      };
    case 'munmap':
      return { kind: 'munmap', addr: u64FromWire(c.value.addr), length: u64FromWire(c.value.length) };
    case 'mprotect':
      return {
        kind: 'mprotect',
        addr: u64FromWire(c.value.addr),
        length: u64FromWire(c.value.length),
        prot: c.value.prot,
      };
    case 'mremap':
      return {
        kind: 'mremap',
        oldAddr: u64FromWire(c.value.oldAddr),
        oldLength: u64FromWire(c.value.oldLength),
        newLength: u64FromWire(c.value.newLength),
        flags: c.value.flags,
        newAddr: u64FromWire(c.value.newAddr),
      };
    case 'madvise':
      return {
        kind: 'madvise',
        addr: u64FromWire(c.value.addr),
        length: u64FromWire(c.value.length),
        advice: c.value.advice,
      };
    case 'mlock':
    case 'munlock':
    case 'mseal':
      return { kind: c.$case, addr: u64FromWire(c.value.addr), length: u64FromWire(c.value.length) };
    default:
      throw new DomainError('invalid-argument', `${at}.call is empty: expected one of the syscalls`, {
        field: `${at}.call`,
      });
  }
}

/** The domain's syscall → a proto Syscall (for clients of the service). */
export function syscallToWire(pid: number, call: Syscall): WireSyscall {
  switch (call.kind) {
    case 'mmap':
      return {
        pid,
        call: {
          $case: 'mmap',
          value: {
            addr: u64(call.addr),
            length: u64(call.length),
            prot: call.prot,
            flags: call.flags,
            fd: call.fd ?? -1,
            offset: u64(call.offset ?? 0),
          },
        },
      };
    case 'munmap':
      return { pid, call: { $case: 'munmap', value: { addr: u64(call.addr), length: u64(call.length) } } };
    case 'mprotect':
      return {
        pid,
        call: {
          $case: 'mprotect',
          value: { addr: u64(call.addr), length: u64(call.length), prot: call.prot },
        },
      };
    case 'mremap':
      return {
        pid,
        call: {
          $case: 'mremap',
          value: {
            oldAddr: u64(call.oldAddr),
            oldLength: u64(call.oldLength),
            newLength: u64(call.newLength),
            flags: call.flags,
            newAddr: u64(call.newAddr ?? 0),
          },
        },
      };
    case 'madvise':
      return {
        pid,
        call: {
          $case: 'madvise',
          value: { addr: u64(call.addr), length: u64(call.length), advice: call.advice },
        },
      };
    case 'mlock':
    case 'munlock':
      return { pid, call: { $case: call.kind, value: { addr: u64(call.addr), length: u64(call.length) } } };
    case 'mseal':
      if (call.flags !== undefined && u64(call.flags) !== 0n)
        throw new RangeError(
          `mseal flags=${call.flags}: RangeCall carries no flags (only 0 goes on the wire)`,
        );
      return { pid, call: { $case: 'mseal', value: { addr: u64(call.addr), length: u64(call.length) } } };
  }
}

export function syscallResultToWire(r: SyscallResult): WireResult {
  return 'errno' in r
    ? { ret: 0n, errno: ERRNO[r.errno] as Errno }
    : { ret: BigInt(r.ret), errno: Errno.ERRNO_UNSPECIFIED };
}

const OUTCOMES: Record<DomainOutcome, FaultOutcome> = {
  handled: FaultOutcome.FAULT_OUTCOME_HANDLED,
  'sigsegv-maperr': FaultOutcome.FAULT_OUTCOME_SIGSEGV_MAPERR,
  'sigsegv-accerr': FaultOutcome.FAULT_OUTCOME_SIGSEGV_ACCERR,
  sigbus: FaultOutcome.FAULT_OUTCOME_SIGBUS,
};

export function faultOutcomeToWire(o: DomainOutcome): FaultOutcome {
  return OUTCOMES[o];
}

const PROC_FILES: Partial<Record<ProcessProcFile, ProcFileName>> = {
  [ProcessProcFile.PROCESS_PROC_FILE_MAPS]: 'maps',
  [ProcessProcFile.PROCESS_PROC_FILE_SMAPS]: 'smaps',
  [ProcessProcFile.PROCESS_PROC_FILE_STATUS]: 'status',
};

export function procFileFromWire(file: ProcessProcFile): ProcFileName {
  const name = PROC_FILES[file];
  if (!name)
    throw new DomainError(
      'invalid-argument',
      `file=${ProcessProcFile[file] ?? file}: expected MAPS, SMAPS or STATUS`,
      {
        field: 'file',
        value: file,
      },
    );
  return name;
}
