import { Errno, FaultOutcome, ProcessProcFile } from '@pagemesh/proto';
import type { ProcessCall } from '@pagemesh/vma-manager';
import {
  errnoFromWire,
  faultOutcomeToWire,
  procFileFromWire,
  syscallFromWire,
  syscallResultFromWire,
  syscallResultToWire,
  syscallToWire,
  u64FromWire,
} from './wire';

describe('vma-manager wire conversions', () => {
  it('keeps syscall arguments exact: numbers below 2^53, bigints above', () => {
    expect(u64FromWire(0x7e0000000000n)).toBe(0x7e0000000000);
    expect(u64FromWire(0xfffffffffffff000n)).toBe(0xfffffffffffff000n);
  });

  it('round-trips every syscall through its proto form', () => {
    const calls: ProcessCall[] = [
      { kind: 'mmap', addr: 0, length: 4096, prot: 3, flags: 0x22, fd: -1, offset: 0 },
      { kind: 'munmap', addr: 0xfffffffffffff000n, length: 4096 },
      { kind: 'mprotect', addr: 4096, length: 8192, prot: 1 },
      { kind: 'mremap', oldAddr: 4096, oldLength: 4096, newLength: 8192, flags: 1, newAddr: 0 },
      { kind: 'madvise', addr: 4096, length: 4096, advice: -1 },
      { kind: 'mlock', addr: 4096, length: 1 },
      { kind: 'munlock', addr: 4096, length: 1 },
      { kind: 'mseal', addr: 4096, length: 4096 },
      { kind: 'open', path: '/dev/mymmap', flags: 0o4010002 },
      { kind: 'read', fd: 3, count: 65536 },
      { kind: 'write', fd: 3, data: Uint8Array.of(0xa0, 0xb0, 0xc0, 0xd0) },
      { kind: 'close', fd: -1 },
    ];
    for (const c of calls) expect(syscallFromWire('calls[0]', syscallToWire(3, c))).toEqual(c);
  });

  it('clamps a read count beyond 2^53 (the VFS clamps any count to MAX_RW_COUNT)', () => {
    const call = syscallFromWire('calls[0]', {
      pid: 1,
      call: { $case: 'read', value: { fd: 3, count: 0xffffffffffffffffn } },
    });
    expect(call).toEqual({ kind: 'read', fd: 3, count: Number.MAX_SAFE_INTEGER });
  });

  it('refuses a syscall with no call set, naming the field', () => {
    expect(() => syscallFromWire('calls[2]', { pid: 1, call: undefined })).toThrow(
      expect.objectContaining({ kind: 'invalid-argument', field: 'calls[2].call' }),
    );
  });

  it('maps results, outcomes and proc files', () => {
    const none = Buffer.alloc(0);
    expect(syscallResultToWire({ ret: 0x7e0000000000 })).toEqual({
      ret: 0x7e0000000000n,
      errno: 0,
      data: none,
    });
    expect(syscallResultToWire({ errno: 'ENOMEM' })).toEqual({
      ret: 0n,
      errno: Errno.ERRNO_ENOMEM,
      data: none,
    });
    const read = syscallResultToWire({ ret: 2, data: Uint8Array.of(0xaa, 0xbb) });
    expect(read).toEqual({ ret: 2n, errno: 0, data: Buffer.from([0xaa, 0xbb]) });
    expect(syscallResultFromWire(read)).toEqual({ ret: 2, data: Uint8Array.of(0xaa, 0xbb) });
    expect(syscallResultFromWire({ ret: 0n, errno: Errno.ERRNO_EBADF, data: none })).toEqual({
      errno: 'EBADF',
    });
    expect(errnoFromWire(Errno.ERRNO_EIO)).toBe('EIO');
    expect(faultOutcomeToWire('sigsegv-accerr')).toBe(FaultOutcome.FAULT_OUTCOME_SIGSEGV_ACCERR);
    expect(procFileFromWire(ProcessProcFile.PROCESS_PROC_FILE_SMAPS)).toBe('smaps');
    expect(() => procFileFromWire(ProcessProcFile.PROCESS_PROC_FILE_UNSPECIFIED)).toThrow(
      expect.objectContaining({ kind: 'invalid-argument', field: 'file' }),
    );
  });
});
