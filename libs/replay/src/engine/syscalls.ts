import { PAGE_SIZE } from '@pagemesh/uapi';
import { formatVa48 } from '@pagemesh/uapi';
import type { Syscall } from '../ports';
import type { Addr, Op } from '../workload/model';
import { hexToBytes } from '../workload/values';

/** mmap-test opens the device O_RDWR | O_SYNC (include/uapi/asm-generic/fcntl.h: 02, __O_SYNC | O_DSYNC = 04010000). */
const O_RDWR = 0o2;
const O_SYNC = 0o4010000;

/** The syscall an op asks for, its addresses and fds resolved by the callers' functions. */
export function toSyscall(op: Op, resolve: (addr: Addr) => number, fd: (name: string) => number): Syscall {
  switch (op.op) {
    case 'mmap':
      return {
        call: 'mmap',
        addr: resolve(op.addr),
        length: op.length,
        prot: op.prot,
        flags: op.flags,
        fd: op.fd === null ? -1 : fd(op.fd),
        offset: op.offset,
      };
    case 'munmap':
    case 'mlock':
    case 'munlock':
    case 'mseal':
      return { call: op.op, addr: resolve(op.addr), length: op.length };
    case 'mprotect':
      return { call: 'mprotect', addr: resolve(op.addr), length: op.length, prot: op.prot };
    case 'mremap':
      return {
        call: 'mremap',
        addr: resolve(op.addr),
        oldLength: op.oldLength,
        newLength: op.newLength,
        flags: op.flags,
        newAddr: resolve(op.newAddr),
      };
    case 'madvise':
      return { call: 'madvise', addr: resolve(op.addr), length: op.length, advice: op.advice };
    case 'open':
      return { call: 'open', path: op.path, flags: O_RDWR | O_SYNC };
    case 'read':
      return { call: 'read', fd: fd(op.fd), length: op.length };
    case 'write': {
      const data = new Uint8Array(op.length);
      const pattern = hexToBytes(op.pagePattern);
      for (let p = 0; p < op.length; p += PAGE_SIZE)
        data.set(pattern.subarray(0, Math.min(pattern.length, op.length - p)), p);
      return { call: 'write', fd: fd(op.fd), data };
    }
    case 'close':
      return { call: 'close', fd: fd(op.fd) };
    case 'file':
    case 'memfd':
      return {
        call: 'create-file',
        name: op.name,
        size: op.size,
        readOnly: op.readOnly,
        memfd: op.op === 'memfd',
      };
    case 'truncate':
      return { call: 'ftruncate', fd: fd(op.name), length: op.size };
    default:
      throw new Error(`${op.op} is not a syscall`);
  }
}

const SYSCALL_OPS = new Set<Op['op']>([
  'mmap',
  'munmap',
  'mlock',
  'munlock',
  'mseal',
  'mprotect',
  'mremap',
  'madvise',
  'open',
  'read',
  'write',
  'close',
  'file',
  'memfd',
  'truncate',
]);

export function isSyscallOp(op: Op): boolean {
  return SYSCALL_OPS.has(op.op);
}

/** Ops whose result a later op may use: the batch stops after them. */
export function savesValue(op: Op): boolean {
  return (
    ((op.op === 'mmap' || op.op === 'mremap') && op.save !== undefined) ||
    op.op === 'open' ||
    op.op === 'file' ||
    op.op === 'memfd'
  );
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export function formatCall(c: Syscall): string {
  switch (c.call) {
    case 'mmap':
      return `mmap(${formatVa48(c.addr)}, ${c.length}, ${hex(c.prot)}, ${hex(c.flags)}, ${c.fd}, ${c.offset})`;
    case 'mprotect':
      return `mprotect(${formatVa48(c.addr)}, ${c.length}, ${hex(c.prot)})`;
    case 'mremap':
      return `mremap(${formatVa48(c.addr)}, ${c.oldLength}, ${c.newLength}, ${c.flags}, ${formatVa48(c.newAddr)})`;
    case 'madvise':
      return `madvise(${formatVa48(c.addr)}, ${c.length}, ${c.advice})`;
    case 'open':
      return `open("${c.path}", ${hex(c.flags)})`;
    case 'read':
      return `read(${c.fd}, buf, ${c.length})`;
    case 'write':
      return `write(${c.fd}, buf, ${c.data.length})`;
    case 'close':
      return `close(${c.fd})`;
    case 'create-file':
      return `${c.memfd ? 'memfd_create' : 'creat'}("${c.name}") + ftruncate(${c.size})`;
    case 'ftruncate':
      return `ftruncate(${c.fd}, ${c.length})`;
    default:
      return `${c.call}(${formatVa48(c.addr)}, ${c.length})`;
  }
}

export function formatRet(c: Syscall, ret: number): string {
  return c.call === 'mmap' || c.call === 'mremap' ? formatVa48(ret) : String(ret);
}
