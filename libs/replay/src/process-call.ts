import type { ProcessCall } from '@pagemesh/vma-manager';
import type { Syscall } from './ports';

/**
 * An orchestrator syscall in the process table's words: a memory syscall (run in batches) or a
 * file call on the fd table (open, read, write, close of device nodes). null for what the process
 * table does not model: vmtrace's regular files, memfds and ftruncate (the caller answers ENOSYS).
 * One mapping for every transport: in-process it goes to the table, over gRPC onto the wire.
 */
export function toProcessCall(c: Syscall): ProcessCall | null {
  switch (c.call) {
    case 'mmap':
      return {
        kind: 'mmap',
        addr: c.addr,
        length: c.length,
        prot: c.prot,
        flags: c.flags,
        fd: c.fd,
        offset: c.offset,
      };
    case 'munmap':
    case 'mlock':
    case 'munlock':
    case 'mseal':
      return { kind: c.call, addr: c.addr, length: c.length };
    case 'mprotect':
      return { kind: 'mprotect', addr: c.addr, length: c.length, prot: c.prot };
    case 'mremap':
      return {
        kind: 'mremap',
        oldAddr: c.addr,
        oldLength: c.oldLength,
        newLength: c.newLength,
        flags: c.flags,
        newAddr: c.newAddr,
      };
    case 'madvise':
      return { kind: 'madvise', addr: c.addr, length: c.length, advice: c.advice };
    case 'open':
      return { kind: 'open', path: c.path, flags: c.flags };
    case 'read':
      return { kind: 'read', fd: c.fd, count: c.length };
    case 'write':
      return { kind: 'write', fd: c.fd, data: c.data };
    case 'close':
      return { kind: 'close', fd: c.fd };
    case 'create-file':
    case 'ftruncate':
      return null;
  }
}
