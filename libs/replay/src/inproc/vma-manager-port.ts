import {
  PidsExhaustedError,
  type FaultOutcome as VmaFaultOutcome,
  type Syscall as VmaSyscall,
  type VmaManager,
} from '@pagemesh/vma-manager';
import type { Errno } from '@pagemesh/uapi';
import type {
  FaultOutcome,
  FaultRequest,
  PagemapEntry,
  ProcessHandle,
  Syscall,
  SyscallResult,
  VmaManagerPort,
} from '../ports';

const PAGE = 4096;

/** The vma-manager's answer to a fault in the orchestrator's words (si_code names of uapi siginfo.h). */
function outcome(o: VmaFaultOutcome): FaultOutcome {
  switch (o) {
    case 'handled':
      return { kind: 'handled', type: 'handled' };
    case 'sigsegv-maperr':
      return { kind: 'sigsegv', code: 'SEGV_MAPERR' };
    case 'sigsegv-accerr':
      return { kind: 'sigsegv', code: 'SEGV_ACCERR' };
    case 'sigbus':
      return { kind: 'sigbus', code: 'BUS_ADRERR' };
  }
}

/** The memory syscalls the process table takes; null for the file and device calls it has no fd table for yet. */
function toVmaSyscall(c: Syscall): VmaSyscall | null {
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
    default:
      return null;
  }
}

/**
 * The orchestrator's vma-manager port over the vma-manager's process table (VmaManager) in the
 * same process. Every call goes to the table; nothing is decided here. The table has no fd
 * tables yet, so open/read/write/close, vmtrace's files and ftruncate answer ENOSYS (and mmap of
 * an fd EBADF, as the table itself answers), and there is no driver /proc entry.
 */
export function inprocVmaManagerPort(vm: VmaManager): VmaManagerPort {
  const handle = (pid: number): ProcessHandle => ({ pid, asid: vm.task(pid).mm.asid });
  return {
    async createProcess(comm) {
      return handle(await vm.createProcess(comm));
    },
    async fork(parentPid) {
      try {
        return handle(await vm.fork(parentPid));
      } catch (e) {
        // alloc_pid failing makes fork return -EAGAIN (kernel/fork.c)
        if (e instanceof PidsExhaustedError) return { errno: 'EAGAIN' as Errno };
        throw e;
      }
    },
    async exit(pid) {
      await vm.exitProcess(pid);
    },
    async syscalls(pid, calls) {
      const mapped = calls.map(toVmaSyscall);
      const supported = mapped.filter((c): c is VmaSyscall => c !== null);
      const results = supported.length ? await vm.syscalls(supported.map((call) => ({ pid, call }))) : [];
      let next = 0;
      return mapped.map((c): SyscallResult => {
        if (c === null) return { errno: 'ENOSYS' };
        const r = results[next++];
        return 'errno' in r ? { errno: r.errno } : { ret: Number(r.ret) };
      });
    },
    async handleFaults(pid, faults: readonly FaultRequest[]) {
      const out = await vm.handleFaults(
        faults.map((f) => ({ pid, address: f.address, errorCode: f.errorCode })),
      );
      return out.map(outcome);
    },
    async proc(pid, file) {
      if (file === 'maps' || file === 'smaps' || file === 'status') return vm.procFile(pid, file);
      return null;
    },
    async pagemap(pid, va, pages): Promise<PagemapEntry[]> {
      const entries = await vm.task(pid).mm.pagemap(va, va + pages * PAGE);
      return entries.map((e) => ({ present: e.present, pfn: e.present ? e.pfn : null }));
    },
  };
}
