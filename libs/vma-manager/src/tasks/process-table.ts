/**
 * The vma-manager's process table: processes (tasks) with their address spaces, created,
 * forked and exited; batches of memory syscalls and page faults addressed to them by pid; and
 * their /proc files. Page tables and pages are reached through the ports (ports.ts), so the same
 * table runs over the in-process adapters or over gRPC.
 *
 * Requests run one at a time, in arrival order: a syscall or fault awaits the ports between its
 * VMA work and its page-table work, and nothing else may see the mm in between.
 *
 * Every request is validated before it changes anything: an unknown pid is a NoSuchProcessError
 * (not-found), an exited one a ProcessExitedError (failed-precondition), a malformed argument a
 * VmaDomainError (invalid-argument), each naming the request field and its value. In a batch,
 * the field is `calls[i].pid`, `faults[i].address` and so on.
 *
 * File descriptors: each task owns an fd table (fd-table.ts: lowest free fd, EBADF, EMFILE),
 * whose files are device files reached through the ports' DeviceFilesPort (the device-drivers
 * layer, which never calls up). fork shares the open files (get_file on each), exit closes them;
 * mmap of an fd maps the device (MmProcess.mmapDevice) and each VMA holds its own reference.
 * A driver's /proc entry gets the caller's comm and VMAs with the read.
 */
import { VmaDomainError } from '../errors';
import { Machine } from '../machine';
import type { SyscallResult } from '../mman';
import type { Errno } from '@pagemesh/uapi';
import type { DeviceFilesPort } from '../ports';
import { MmProcess, type MmPorts } from '../process';
import { procMaps } from '../proc-maps';
import { procSmaps, type SmapsPageStats } from '../proc-smaps';
import { PortsTarget } from '../conformance/page-state';
import type { VmFile } from '../vma';
import { NoSuchProcessError, PidsExhaustedError, ProcessExitedError } from './errors';
import { checkFault, faultIsValid, handleFaultBatch, type FaultOutcome } from './fault';
import { PidMap, PID_MAX_DEFAULT } from './pid-map';
import { procStatus } from './proc-status';
import { procStat } from './proc-stat';
import { ShmemObjects } from './shmem-objects';
import { checkSyscall, runSyscall, type Syscall } from './syscall';
import { Task } from './task';

export interface VmaManagerOptions {
  /** sysctls, RAM size and vm_committed_as shared by every process (default: the oracle's machine) */
  readonly machine?: Machine;
  /** pid_max (default PID_MAX_DEFAULT, 32768) */
  readonly pidMax?: number;
  /**
   * Whether the unmaps of a process's consecutive syscalls in a batch may go down together in
   * one mmu call (default false: each syscall's page-table work goes down on its own, as the
   * kernel runs each syscall). Merged, the results, page tables, RSS and page counts are the
   * same, but pages may return to the buddy lists in another order, so later allocations can
   * get other PFNs (a property test found such a case); an unmap of a range with nothing mapped
   * needs no mmu call either way.
   */
  readonly mergeUnmaps?: boolean;
}

/** One syscall of a batch, for the process `pid`. */
export interface SyscallRequest {
  readonly pid: number;
  readonly call: Syscall;
}

/** One page fault of a batch: CR2 as va48 and the x86 error code, on a CPU running `pid`. */
export interface FaultRequest {
  readonly pid: number;
  readonly address: number;
  readonly errorCode: number;
}

export type ProcFileName = 'maps' | 'smaps' | 'status' | 'stat';

const PROC_FILES: readonly ProcFileName[] = ['maps', 'smaps', 'status', 'stat'];

export class VmaManager {
  private readonly tasks = new Map<number, Task>();
  private readonly pids: PidMap;
  private readonly shmem = new ShmemObjects();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly ports: MmPorts,
    readonly machine: Machine,
    pidMax: number,
    private readonly mergeUnmaps: boolean,
  ) {
    this.pids = new PidMap(pidMax);
  }

  /**
   * A process table over the ports. The shared zero page is set up here, once for the machine,
   * so that a process's exit gives back exactly the pages it took.
   */
  static async create(ports: MmPorts, options: VmaManagerOptions = {}): Promise<VmaManager> {
    await ports.pages.zeroPage();
    return new VmaManager(
      ports,
      options.machine ?? new Machine(),
      options.pidMax ?? PID_MAX_DEFAULT,
      options.mergeUnmaps ?? false,
    );
  }

  /** A new process named `comm` (truncated to 15 bytes) with an empty address space; its pid. */
  createProcess(comm: string): Promise<number> {
    return this.serialize(async () => {
      if (typeof comm !== 'string')
        throw new VmaDomainError('invalid-argument', 'comm', comm, 'not a string');
      const pid = this.allocPid();
      const asid = await this.ports.mmu.createAddressSpace();
      const proc = new MmProcess(this.machine, asid, this.ports, undefined, this.shmem);
      this.tasks.set(pid, new Task(pid, comm, proc, 0));
      return pid;
    });
  }

  /**
   * fork(): a child with a copy of the parent's address space (dup_mmap: copy-on-write private
   * pages, shared memory shared, VM_DONTCOPY left out, VM_WIPEONFORK empty) and the parent's comm;
   * its pid. The child's ppid is the parent's pid; it is not reparented when the parent exits.
   */
  fork(pid: number): Promise<number> {
    return this.serialize(async () => {
      const parent = this.alive('pid', pid);
      const childPid = this.allocPid();
      const child = await parent.mm.fork();
      const task = new Task(childPid, parent.commBytes, child, parent.pid);
      // copy_files → dup_fd: the child's fds name the same open files, one more reference each
      task.fds = parent.fds.clone();
      const ids = task.fds.entries().map(([, f]) => f.id);
      if (ids.length) await this.filesPort().getFiles(ids);
      this.tasks.set(childPid, task);
      return childPid;
    });
  }

  /**
   * exit(): the address space is torn down (exit_mmap: every page and page-table page goes back)
   * and shared memory no process maps any more is freed. The pid stays known, as exited, until
   * it is handed out again.
   */
  exitProcess(pid: number): Promise<void> {
    return this.serialize(async () => {
      const task = this.alive('pid', pid);
      await task.mm.exit();
      // exit_files: every fd is closed (the VMAs' references went with exit_mmap)
      const ids = task.fds.closeAll().map((f) => f.id);
      if (ids.length) await this.filesPort().putFiles(ids);
      task.markExited();
      await this.releaseShmem();
    });
  }

  /**
   * Memory syscalls, run in order; each result is the syscall's return value or Linux's errno.
   * The whole batch is checked first: one bad pid or argument refuses all of it.
   */
  syscalls(batch: readonly SyscallRequest[]): Promise<SyscallResult[]> {
    return this.serialize(async () => {
      const procs = batch.map((s, i) => {
        const task = this.alive(`calls[${i}].pid`, s.pid);
        checkSyscall(`calls[${i}]`, s.call);
        return task.mm;
      });
      // A run of consecutive syscalls of one process is a syscall batch of that process (its
      // unmaps may go down together); it ends before another process's syscall, which could
      // allocate or free pages in between.
      const out: SyscallResult[] = [];
      let open: MmProcess | null = null;
      try {
        for (let i = 0; i < batch.length; i++) {
          const task = this.tasks.get(batch[i].pid) as Task;
          if (open !== procs[i] && this.mergeUnmaps) {
            await open?.endSyscallBatch();
            open = procs[i];
            open.beginSyscallBatch();
          }
          out.push(await runSyscall(procs[i], batch[i].call, task.fds));
        }
      } finally {
        await open?.endSyscallBatch();
      }
      await this.releaseShmem();
      return out;
    });
  }

  /**
   * open(path, flags) of a device node: the lowest free fd (EMFILE when the table is full, before
   * the path is looked up, as get_unused_fd_flags comes first), or the open's errno.
   */
  open(pid: number, path: string, flags: number): Promise<SyscallResult> {
    return this.serialize(async () => {
      const task = this.alive('pid', pid);
      if (typeof path !== 'string')
        throw new VmaDomainError('invalid-argument', 'path', path, 'not a string');
      if (!Number.isInteger(flags) || flags < 0 || flags >= 2 ** 32)
        throw new VmaDomainError('invalid-argument', 'flags', flags, 'not an unsigned 32-bit integer');
      const fd = task.fds.lowestFree();
      if (typeof fd !== 'number') return { errno: fd };
      if (!this.ports.files) return { errno: 'ENOENT' };
      const r = await this.ports.files.open(path, flags);
      if ('errno' in r) return { errno: r.errno };
      task.fds.install(fd, r.file);
      return { ret: fd };
    });
  }

  /** read(fd, count): the bytes the driver gave (`ret` of them), EBADF for an fd not open. */
  read(
    pid: number,
    fd: number,
    count: number,
  ): Promise<{ readonly ret: number; readonly data: Uint8Array } | { readonly errno: Errno }> {
    return this.serialize(async () => {
      const task = this.alive('pid', pid);
      checkFd(fd);
      if (!Number.isSafeInteger(count) || count < 0)
        throw new VmaDomainError('invalid-argument', 'count', count, 'not a non-negative integer');
      const file = task.fds.get(fd);
      if (!file) return { errno: 'EBADF' };
      const r = await this.filesPort().read(file.id, count);
      if ('errno' in r) return { errno: r.errno };
      return { ret: r.data.length, data: r.data };
    });
  }

  /** write(fd, bytes): the count the driver took, EBADF for an fd not open. */
  write(pid: number, fd: number, bytes: Uint8Array): Promise<SyscallResult> {
    return this.serialize(async () => {
      const task = this.alive('pid', pid);
      checkFd(fd);
      if (!(bytes instanceof Uint8Array))
        throw new VmaDomainError('invalid-argument', 'bytes', typeof bytes, 'not a Uint8Array');
      const file = task.fds.get(fd);
      if (!file) return { errno: 'EBADF' };
      const r = await this.filesPort().write(file.id, bytes);
      if ('errno' in r) return { errno: r.errno };
      return { ret: r.written };
    });
  }

  /** close(fd): drops the fd's reference (a VMA mapping the file keeps its own); EBADF if not open. */
  close(pid: number, fd: number): Promise<SyscallResult> {
    return this.serialize(async () => {
      const task = this.alive('pid', pid);
      checkFd(fd);
      const file = task.fds.remove(fd);
      if (!file) return { errno: 'EBADF' };
      await this.filesPort().putFiles([file.id]);
      return { ret: 0 };
    });
  }

  /**
   * A driver's /proc entry (`/proc/my-proc-entry` is `my-proc-entry`) read by `pid`: the driver
   * gets the caller's pid, comm and VMAs with the request. ENOENT when no driver created it.
   */
  procEntry(pid: number, name: string): Promise<{ readonly text: string } | { readonly errno: Errno }> {
    return this.serialize(async () => {
      const task = this.alive('pid', pid);
      if (typeof name !== 'string')
        throw new VmaDomainError('invalid-argument', 'name', name, 'not a string');
      if (!this.ports.files) return { errno: 'ENOENT' };
      const vmas = task.mm.mm.vmas.all().map((v) => ({ start: v.start, end: v.end }));
      return this.ports.files.readProc(name, { pid: task.pid, comm: task.comm, vmas });
    });
  }

  /**
   * Page faults, handled in order, each as do_user_addr_fault would: write from the error code's
   * W bit; the outcome is 'handled' or the signal Linux delivers. The batch is checked first.
   */
  handleFaults(batch: readonly FaultRequest[]): Promise<FaultOutcome[]> {
    return this.serialize(async () => {
      const procs = batch.map((f, i) => {
        // the field names are only built for a refusal: a batch may hold thousands of faults
        let task = this.tasks.get(f.pid);
        if (task === undefined || !task.alive) task = this.alive(`faults[${i}].pid`, f.pid);
        if (!faultIsValid(f.address, f.errorCode)) checkFault(`faults[${i}]`, f.address, f.errorCode);
        return task.mm;
      });
      // Each run of consecutive faults of one process is one FaultBatch: a process's faults
      // change only its own page tables, and a run ends before another process's fault, which
      // could change the struct pages (mapcounts) the run's snapshot saw.
      const out: FaultOutcome[] = [];
      let i = 0;
      while (i < batch.length) {
        let j = i + 1;
        while (j < batch.length && procs[j] === procs[i]) j++;
        out.push(...(await handleFaultBatch(procs[i], batch.slice(i, j))));
        i = j;
      }
      return out;
    });
  }

  /**
   * /proc/PID/maps, smaps or status, as text. maps and smaps list the process's VMAs only: a
   * process here has no executable, heap, stack or vDSO, and the x86-64 gate VMA ([vsyscall],
   * which Linux appends last) is not printed.
   */
  procFile(pid: number, file: ProcFileName): Promise<string> {
    return this.serialize(async () => {
      const task = this.alive('pid', pid);
      if (!PROC_FILES.includes(file))
        throw new VmaDomainError(
          'invalid-argument',
          'file',
          file,
          `expected one of ${PROC_FILES.join(', ')}`,
        );
      const mm = task.mm.mm;
      switch (file) {
        case 'maps':
          return procMaps(mm);
        case 'smaps': {
          const target = new PortsTarget(task.mm);
          const stats = new Map<unknown, SmapsPageStats>();
          for (const v of mm.vmas.all()) stats.set(v, await target.smaps(v));
          return procSmaps(mm, (v) => stats.get(v) as SmapsPageStats);
        }
        case 'status':
          return procStatus(task);
        case 'stat':
          return procStat(task);
      }
    });
  }

  /** The task with this pid, alive or exited (for inspection; requests go through the methods). */
  task(pid: number): Task {
    const task = this.tasks.get(pid);
    if (!task) throw new NoSuchProcessError('pid', pid);
    return task;
  }

  /** The live tasks, by pid. */
  processes(): Task[] {
    return [...this.tasks.values()].filter((t) => t.alive).sort((a, b) => a.pid - b.pid);
  }

  /** Shmem objects that still hold pages (tests check none is left once every process exited). */
  get shmemObjects(): number {
    return this.shmem.size;
  }

  /** The device-files port; a file is only ever in an fd table or a VMA when it was opened through it. */
  private filesPort(): DeviceFilesPort {
    const files = this.ports.files;
    if (!files)
      throw new VmaDomainError('failed-precondition', 'files', null, 'no device-files port is wired');
    return files;
  }

  private alive(field: string, pid: number): Task {
    const task = this.tasks.get(pid);
    if (!task) throw new NoSuchProcessError(field, pid);
    if (!task.alive) throw new ProcessExitedError(field, pid);
    return task;
  }

  private allocPid(): number {
    const pid = this.pids.alloc((p) => this.tasks.get(p)?.alive === true);
    if (pid === null) throw new PidsExhaustedError(this.pids.pidMax);
    // An exited task's record gives way to the new owner of its pid.
    this.tasks.delete(pid);
    return pid;
  }

  /** Frees the pages of shmem objects that no live process maps (see ShmemObjects). */
  private async releaseShmem(): Promise<void> {
    if (this.shmem.size === 0) return;
    const live = new Set<VmFile>();
    for (const t of this.tasks.values()) {
      if (!t.alive) continue;
      for (const v of t.mm.mm.vmas.all()) if (v.file) live.add(v.file);
    }
    await this.shmem.release(live, this.ports.pages);
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** An fd argument must be a C int; a negative or unopened one is EBADF, not a refusal. */
function checkFd(fd: number): void {
  if (!Number.isInteger(fd) || fd < -(2 ** 31) || fd >= 2 ** 31)
    throw new VmaDomainError('invalid-argument', 'fd', fd, 'not a 32-bit integer');
}
