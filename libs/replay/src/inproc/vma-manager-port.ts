import {
  PidsExhaustedError,
  isFileCall,
  runFileCall,
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
  SyscallResult,
  VmaManagerPort,
} from '../ports';
import { toProcessCall } from '../process-call';

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
        const p = toProcessCall(c);
        if (p && !isFileCall(p)) {
          run.push(p);
          continue;
        }
        await flush();
        // vmtrace's regular files and ftruncate are not modelled: only device nodes open
        out.push(p ? await runFileCall(vm, pid, p) : { errno: 'ENOSYS' });
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
