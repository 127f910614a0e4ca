import { ERRNO, errnoName, type Errno as ErrnoName } from '@pagemesh/uapi';
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
  ProcessCall,
  ProcessCallResult,
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

/**
 * read's count from the wire: a size_t. The VFS clamps any count to MAX_RW_COUNT before the
 * driver sees it, so a count beyond 2^53 reads the same bytes as 2^53 - 1.
 */
function countFromWire(v: bigint): number {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/** A proto Syscall's call → the domain's; a missing oneof is refused naming `${at}.call`. */
export function syscallFromWire(at: string, s: WireSyscall): ProcessCall {
  const c = s.call;
  switch (c?.$case) {
    case 'open':
      return { kind: 'open', path: c.value.path, flags: c.value.flags };
    case 'close':
      return { kind: 'close', fd: c.value.fd };
    case 'read':
      return { kind: 'read', fd: c.value.fd, count: countFromWire(c.value.count) };
    case 'write':
      return { kind: 'write', fd: c.value.fd, data: new Uint8Array(c.value.data) };
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
export function syscallToWire(pid: number, call: ProcessCall): WireSyscall {
  switch (call.kind) {
    case 'open':
      return { pid, call: { $case: 'open', value: { path: call.path, flags: call.flags } } };
    case 'close':
      return { pid, call: { $case: 'close', value: { fd: call.fd } } };
    case 'read':
      return { pid, call: { $case: 'read', value: { fd: call.fd, count: BigInt(call.count) } } };
    case 'write':
      return {
        pid,
        call: {
          $case: 'write',
          value: {
            fd: call.fd,
            data: Buffer.from(call.data.buffer, call.data.byteOffset, call.data.byteLength),
          },
        },
      };
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

const NO_DATA = Buffer.alloc(0);

/** A syscall's answer → the wire: ret or errno, and read's bytes. */
export function syscallResultToWire(r: ProcessCallResult): WireResult {
  if ('errno' in r) return { ret: 0n, errno: errnoToWire(r.errno), data: NO_DATA };
  const data = r.data ? Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength) : NO_DATA;
  return { ret: BigInt(r.ret), errno: Errno.ERRNO_UNSPECIFIED, data };
}

/**
 * A SyscallResult from the service → the domain's (for clients). ret is a number: every return
 * value is an address (below 2^48), a count or an fd. read's bytes come back as `data`.
 */
export function syscallResultFromWire(r: WireResult): ProcessCallResult {
  if (r.errno !== Errno.ERRNO_UNSPECIFIED) return { errno: errnoFromWire(r.errno) };
  const ret = Number(r.ret);
  return r.data.length > 0 ? { ret, data: new Uint8Array(r.data) } : { ret };
}

/** An errno name → the proto enum, whose numbers are Linux's. */
export function errnoToWire(name: ErrnoName): Errno {
  return ERRNO[name] as Errno;
}

/** The proto Errno (set: not UNSPECIFIED) → its name; a number uapi does not know is the peer's bug. */
export function errnoFromWire(e: Errno): ErrnoName {
  const name = errnoName(e);
  if (name === undefined) throw new Error(`errno ${e} from the wire: not an errno this model knows`);
  return name;
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
  [ProcessProcFile.PROCESS_PROC_FILE_STAT]: 'stat',
};

export function procFileFromWire(file: ProcessProcFile): ProcFileName {
  const name = PROC_FILES[file];
  if (!name)
    throw new DomainError(
      'invalid-argument',
      `file=${ProcessProcFile[file] ?? file}: expected MAPS, SMAPS, STATUS or STAT`,
      {
        field: 'file',
        value: file,
      },
    );
  return name;
}
