/**
 * What the orchestrator (the CPU of the simulated machine) needs from each service. Batch-shaped
 * and asynchronous: over gRPC each service is a process away. Implemented in-process over the
 * domain objects, or by the clients of the rpc libs; the engine only sees these interfaces.
 *
 * Virtual addresses are va48 numbers (docs/architecture.md, "64-bit values"); PFNs and sizes are
 * plain numbers, except syscall lengths and offsets, which are bigints above 2^53 (a length near
 * 2^64 is how a caller asks for EINVAL/ENOMEM on wrap-around). A failed syscall is a value (`{ errno }`), never a rejected promise: a rejected
 * promise means the service could not take the request, and the engine stops the run.
 */
import type { Errno } from '@pagemesh/uapi';
import type { MachineSpec } from './workload/model';

/** One address space as the services know it: the vma-manager's pid and the mmu's asid (CR3). */
export interface ProcessHandle {
  readonly pid: number;
  readonly asid: number;
}

/** A syscall of the vma-manager, device file operations included (through the process's fd table). */
export type Syscall =
  | {
      readonly call: 'mmap';
      readonly addr: number;
      readonly length: number | bigint;
      readonly prot: number;
      readonly flags: number;
      /** -1 for an anonymous mapping. */
      readonly fd: number;
      readonly offset: number | bigint;
    }
  | {
      readonly call: 'munmap' | 'mlock' | 'munlock' | 'mseal';
      readonly addr: number;
      readonly length: number | bigint;
    }
  | {
      readonly call: 'mprotect';
      readonly addr: number;
      readonly length: number | bigint;
      readonly prot: number;
    }
  | {
      readonly call: 'mremap';
      readonly addr: number;
      readonly oldLength: number | bigint;
      readonly newLength: number | bigint;
      readonly flags: number;
      readonly newAddr: number;
    }
  | {
      readonly call: 'madvise';
      readonly addr: number;
      readonly length: number | bigint;
      readonly advice: number;
    }
  /** open(2) of a device node (`/dev/mymmap`) or a proc entry; returns the fd. */
  | { readonly call: 'open'; readonly path: string; readonly flags: number }
  /** read(2): `ret` bytes, returned in `data`. */
  | { readonly call: 'read'; readonly fd: number; readonly length: number }
  | { readonly call: 'write'; readonly fd: number; readonly data: Uint8Array }
  | { readonly call: 'close'; readonly fd: number }
  /** vmtrace's `file` / `memfd`: a regular file (or memfd) of `size` bytes, left open; returns the fd. */
  | {
      readonly call: 'create-file';
      readonly name: string;
      readonly size: number;
      readonly readOnly: boolean;
      readonly memfd: boolean;
    }
  | { readonly call: 'ftruncate'; readonly fd: number; readonly length: number };

export type SyscallName = Syscall['call'];

export type SyscallResult = { readonly ret: number; readonly data?: Uint8Array } | { readonly errno: Errno };

/** A #PF as the CPU took it: CR2 and the x86 error code (arch/x86/include/asm/trap_pf.h). */
export interface FaultRequest {
  readonly address: number;
  readonly errorCode: number;
  readonly cpu: number;
}

export type SegvCode = 'SEGV_MAPERR' | 'SEGV_ACCERR';

/** What the page-fault handler did with one fault (arch/x86/mm/fault.c, mm/memory.c). */
export type FaultOutcome =
  /**
   * The PTE now allows the access; `type` says how, in this vocabulary (mm/memory.c):
   * `anon` (do_anonymous_page, a new zeroed page), `zero-page` (a read mapped the zero page),
   * `cow` (wp_page_copy), `reuse` (wp_page_reuse), `file` (a file/shmem read, fault-around
   * included), `shared` (a write to a shared page), `pfnmap` (wp_pfn_shared), `growsdown`
   * (stack expansion), `spurious` (the PTE already allowed it).
   */
  | { readonly kind: 'handled'; readonly type: string }
  | { readonly kind: 'sigsegv'; readonly code: SegvCode }
  | { readonly kind: 'sigbus'; readonly code: 'BUS_ADRERR' };

/** One pagemap entry as the orchestrator needs it (fs/proc/task_mmu.c). */
export interface PagemapEntry {
  readonly present: boolean;
  /** null when not present. */
  readonly pfn: number | null;
}

export interface VmaManagerPort {
  /** A new process with an empty address space (the oracle's convention: nothing in the region). */
  createProcess(comm: string): Promise<ProcessHandle>;
  /** fork(): dup_mmap of the parent into a new process; fds are shared as fork shares them. */
  fork(parentPid: number, comm: string): Promise<ProcessHandle | { readonly errno: Errno }>;
  /** exit_mmap and the fd table: every VMA and page of the process goes. */
  exit(pid: number): Promise<void>;
  /** Syscalls in order; each result is independent (one failing does not stop the others). */
  syscalls(pid: number, calls: readonly Syscall[]): Promise<SyscallResult[]>;
  /** The page-fault handler for each fault, in order. */
  handleFaults(pid: number, faults: readonly FaultRequest[]): Promise<FaultOutcome[]>;
  /**
   * A /proc file as the process would read it: `maps`, `smaps`, `status` (its own), or an
   * absolute path such as `/proc/my-proc-entry` (driver proc entries see the caller's VMAs).
   * null when there is no such file.
   */
  proc(pid: number, file: string): Promise<string | null>;
  /** /proc/PID/pagemap for `pages` pages from `va`. */
  pagemap(pid: number, va: number, pages: number): Promise<PagemapEntry[]>;
}

/** One user-mode access of a CPU. */
export interface UserAccess {
  readonly va: number;
  readonly op: 'read' | 'write' | 'fetch';
  /** Bytes to read or fetch; a write's length is its data's. */
  readonly length?: number;
  readonly data?: Uint8Array;
}

export interface AccessBatchResult {
  /** The accesses performed, in order: a prefix of the batch (all of it when nothing faulted). */
  readonly done: readonly { readonly data?: Uint8Array }[];
  /** The access at index `done.length` faulted and nothing after it ran. */
  readonly fault?:
    | { readonly kind: 'page-fault'; readonly address: number; readonly errorCode: number }
    /** #GP: a non-canonical address (SIGSEGV without a fault address). */
    | { readonly kind: 'general-protection' };
}

export interface TlbCounters {
  readonly cpu: number;
  readonly hits: number;
  readonly misses: number;
}

export interface MmuPort {
  /** Load CR3 of a CPU with an address space (flushes or keeps the TLB as PCIDs allow). */
  switchTo(cpu: number, asid: number): Promise<void>;
  /**
   * Switch a CPU to the kernel's address space (init_mm, as the idle task runs), so that the
   * address space it held can be destroyed: a process's mm goes only once no CPU uses it.
   */
  idle(cpu: number): Promise<void>;
  /** User accesses on one CPU, in order, stopping at the first fault. */
  accessBatch(cpu: number, accesses: readonly UserAccess[]): Promise<AccessBatchResult>;
  tlbStats(): Promise<TlbCounters[]>;
  /** Page-table pages in use (the kernel's and every process's). */
  pageTablePages(): Promise<number>;
}

/** What a physical frame is used for, for the memory-map picture. */
export type FrameState = 'free' | 'allocated' | 'reserved' | 'page-table' | 'slab' | 'absent';

export interface ZoneSpan {
  readonly name: string;
  readonly startPfn: number;
  /** One past the last PFN. */
  readonly endPfn: number;
}

/** Every PFN of the machine, run-length encoded: consecutive frames in the same state. */
export interface PhysMemoryMap {
  readonly totalPfns: number;
  readonly zones: readonly ZoneSpan[];
  readonly runs: readonly { readonly startPfn: number; readonly count: number; readonly state: FrameState }[];
}

export interface FrameInfo {
  readonly pfn: number;
  readonly refcount: number;
  readonly mapcount: number;
  readonly state: 'free' | 'allocated' | 'reserved';
  readonly zone: string;
}

export interface AllocatorCounters {
  readonly totalPages: number;
  readonly freePages: number;
  /** Successful allocations since boot, by order (index = order); empty when the allocator does not count them. */
  readonly allocationsByOrder: readonly number[];
  /** Pages allocated since boot, by zone name (/proc/vmstat pgalloc_<zone>). */
  readonly pagesAllocatedByZone: Readonly<Record<string, number>>;
}

export interface PageAllocatorPort {
  buddyinfo(): Promise<string>;
  meminfo(): Promise<string>;
  counters(): Promise<AllocatorCounters>;
  frames(pfns: readonly number[]): Promise<FrameInfo[]>;
  memoryMap(): Promise<PhysMemoryMap>;
}

export interface DeviceDriversPort {
  /** insmod: `{ ret: 0 }`, or the errno module_init returned. */
  loadModule(name: string): Promise<SyscallResult>;
  unloadModule(name: string): Promise<SyscallResult>;
  /** mknod(path, S_IFCHR, makedev(major, minor)): `{ ret: 0 }` or EEXIST. */
  mknod(path: string, major: number, minor: number): Promise<SyscallResult>;
  /** unlink of a device node: `{ ret: 0 }` or ENOENT. */
  unlink(path: string): Promise<SyscallResult>;
}

/** A boundary's figures, as the report shows them. */
export interface BoundaryFigures {
  /** `orchestrator→vma-manager`, `vma-manager→mmu`, ... */
  readonly boundary: string;
  readonly method: string;
  readonly calls: number;
  readonly items: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** The services of one booted machine, however they are reached. */
export interface Stack {
  /** `inproc`, `grpc`, or the address list. */
  readonly transport: string;
  readonly vma: VmaManagerPort;
  readonly mmu: MmuPort;
  readonly pages: PageAllocatorPort;
  readonly devices: DeviceDriversPort;
  /** Figures of the boundaries below the orchestrator, when the stack can measure them. */
  innerBoundaries?(): Promise<BoundaryFigures[]>;
  close(): Promise<void>;
}

/** Boots the services for a machine (inproc, local processes, or remote addresses). */
export type StackFactory = (machine: MachineSpec) => Promise<Stack>;
