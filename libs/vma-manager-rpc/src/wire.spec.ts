import { Errno, FaultOutcome, ProcessProcFile } from '@pagemesh/proto';
import type { Syscall } from '@pagemesh/vma-manager';
import {
  faultOutcomeToWire,
  procFileFromWire,
  syscallFromWire,
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
    const calls: Syscall[] = [
      { kind: 'mmap', addr: 0, length: 4096, prot: 3, flags: 0x22, fd: -1, offset: 0 },
      { kind: 'munmap', addr: 0xfffffffffffff000n, length: 4096 },
      { kind: 'mprotect', addr: 4096, length: 8192, prot: 1 },
      { kind: 'mremap', oldAddr: 4096, oldLength: 4096, newLength: 8192, flags: 1, newAddr: 0 },
      { kind: 'madvise', addr: 4096, length: 4096, advice: -1 },
      { kind: 'mlock', addr: 4096, length: 1 },
      { kind: 'munlock', addr: 4096, length: 1 },
      { kind: 'mseal', addr: 4096, length: 4096 },
    ];
    for (const c of calls) expect(syscallFromWire('calls[0]', syscallToWire(3, c))).toEqual(c);
  });

  it('refuses a syscall with no call set, naming the field', () => {
    expect(() => syscallFromWire('calls[2]', { pid: 1, call: undefined })).toThrow(
      expect.objectContaining({ kind: 'invalid-argument', field: 'calls[2].call' }),
    );
  });

  it('maps results, outcomes and proc files', () => {
    expect(syscallResultToWire({ ret: 0x7e0000000000 })).toEqual({ ret: 0x7e0000000000n, errno: 0 });
    expect(syscallResultToWire({ errno: 'ENOMEM' })).toEqual({ ret: 0n, errno: Errno.ERRNO_ENOMEM });
    expect(faultOutcomeToWire('sigsegv-accerr')).toBe(FaultOutcome.FAULT_OUTCOME_SIGSEGV_ACCERR);
    expect(procFileFromWire(ProcessProcFile.PROCESS_PROC_FILE_SMAPS)).toBe('smaps');
    expect(() => procFileFromWire(ProcessProcFile.PROCESS_PROC_FILE_UNSPECIFIED)).toThrow(
      expect.objectContaining({ kind: 'invalid-argument', field: 'file' }),
    );
  });
});
