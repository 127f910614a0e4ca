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

/** The memory syscalls of a process-table batch; null for the file calls, which have their own methods. */
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

/** A file call of the orchestrator on the process table's fd methods; null for the memory syscalls. */
async function fileCall(vm: VmaManager, pid: number, c: Syscall): Promise<SyscallResult | null> {
  const res = (r: { ret: number } | { errno: Errno }): SyscallResult =>
    'errno' in r ? { errno: r.errno } : { ret: r.ret };
  switch (c.call) {
    case 'open':
      return res(await vm.open(pid, c.path, c.flags));
    case 'read': {
      const r = await vm.read(pid, c.fd, c.length);
      return 'errno' in r ? { errno: r.errno } : { ret: r.ret, data: r.data };
    }
    case 'write':
      return res(await vm.write(pid, c.fd, c.data));
    case 'close':
      return res(await vm.close(pid, c.fd));
    case 'create-file':
    case 'ftruncate':
      // regular files and memfds are not modelled: only device nodes can be opened
      return { errno: 'ENOSYS' };
    default:
      return null;
  }
}

/**
 * The orchestrator's vma-manager port over the vma-manager's process table (VmaManager) in the
 * same process. Every call goes to the table; nothing is decided here. Memory syscalls go in
 * batches; open/read/write/close to the table's fd methods, in order with them. vmtrace's regular
 * files and ftruncate answer ENOSYS. Absolute /proc paths are drivers' entries, read with the
 * caller's VMAs.
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
      // Runs of memory syscalls go as one batch; a file call runs on its own, in order.
      const out: SyscallResult[] = [];
      let run: VmaSyscall[] = [];
      const flush = async () => {
        if (!run.length) return;
        const results = await vm.syscalls(run.map((call) => ({ pid, call })));
        for (const r of results) out.push('errno' in r ? { errno: r.errno } : { ret: Number(r.ret) });
        run = [];
      };
      for (const c of calls) {
        const m = toVmaSyscall(c);
        if (m) {
          run.push(m);
          continue;
        }
        await flush();
        out.push((await fileCall(vm, pid, c)) ?? { errno: 'ENOSYS' });
      }
      await flush();
      return out;
    },
    async handleFaults(pid, faults: readonly FaultRequest[]) {
      const out = await vm.handleFaults(
        faults.map((f) => ({ pid, address: f.address, errorCode: f.errorCode })),
      );
      return out.map(outcome);
    },
    async proc(pid, file) {
      if (file === 'maps' || file === 'smaps' || file === 'status') return vm.procFile(pid, file);
      if (file.startsWith('/proc/')) {
        const r = await vm.procEntry(pid, file.slice('/proc/'.length));
        return 'errno' in r ? null : r.text;
      }
      return null;
    },
    async pagemap(pid, va, pages): Promise<PagemapEntry[]> {
      const entries = await vm.task(pid).mm.pagemap(va, va + pages * PAGE);
      return entries.map((e) => ({ present: e.present, pfn: e.present ? e.pfn : null }));
    },
  };
}
