/**
 * The conformance runner's process in the vma-manager service, with this command as its CPU.
 *
 * The process is the service's: CreateProcess, syscalls on StreamSyscalls, Fork, ExitProcess;
 * what vmtrace reads comes from its /proc files (ReadProcFile maps and smaps) and its pagemap
 * (Pagemap). User accesses are the CPU's, as the orchestrator makes them: CPU 0 is switched to the
 * process's address space (SwitchCpu) and touches its pages on the mmu's StreamAccesses; a page
 * fault goes to HandleFaults with CR2 and the x86 error code, and the access is retried once the
 * handler says it is handled.
 */
import {
  CreateProcessRequest,
  Errno as WireErrno,
  ExitProcessRequest,
  FaultOutcome,
  ForkRequest,
  HandleFaultsRequest,
  MmuServiceClient,
  PageAllocatorServiceClient,
  ProcessProcFile,
  VmaManagerServiceClient,
  VmaManagerServicePagemapRequest,
  VmaManagerServiceReadProcFileRequest,
  errnoToJSON,
} from '@pagemesh/proto';
import { grpcMmuPort } from '@pagemesh/orchestrator-rpc';
import { promisifyUnary, type ClientPool } from '@pagemesh/service-kit';
import {
  NOTHING_RESIDENT,
  UnsupportedOpError,
  parseProcMaps,
  parseProcSmaps,
  procStatField,
  STAT_FIELD,
  type MapsLine,
  type Residency,
  type SmapsFigures,
  type Syscall,
  type SyscallResult,
  type Target,
  type TouchResult,
} from '@pagemesh/vma-manager';
import { grpcPagesPort, syscallToWire } from '@pagemesh/vma-manager-rpc';
import { SyscallBatchRefusedError, SyscallStream } from './conform-syscall-stream';
import { walkPages, type Walk, type WalkFaultOutcome, type WalkMachine } from './conform-cpu-walk';

const PAGE = 4096;
/** The CPU the conformance process runs on (vmtrace is single-threaded). */
const CPU = 0;
/** Pages per Pagemap call (the service takes up to a 1 GiB range). */
const PAGEMAP_CHUNK = 65_536;
/** The comm of the replaying process. */
const COMM = 'vmtrace';
/** Bits 63-48 of a kernel-half canonical address (va48 keeps bit 47 only). */
const KERNEL_HALF = 0xffff_0000_0000_0000n;

type ErrnoName = Extract<SyscallResult, { errno: unknown }>['errno'];

/** va48 → the canonical 64-bit address the services take (bit 47 sign-extended). */
function canonical(va: number): bigint {
  return va >= 2 ** 47 ? BigInt(va) | KERNEL_HALF : BigInt(va);
}

/** The unary calls of VmaManagerService the target makes. */
function vmaCalls(client: VmaManagerServiceClient) {
  return {
    createProcess: promisifyUnary(client, 'createProcess'),
    exitProcess: promisifyUnary(client, 'exitProcess'),
    fork: promisifyUnary(client, 'fork'),
    readProcFile: promisifyUnary(client, 'readProcFile'),
    pagemap: promisifyUnary(client, 'pagemap'),
    handleFaults: promisifyUnary(client, 'handleFaults'),
  };
}

/** Where the services of a conformance run listen. */
export interface ConformServiceAddresses {
  readonly vmaManager: string;
  readonly mmu: string;
  readonly pageAllocator: string;
}

/** What every process of one run shares: the services' clients, one syscall stream, the CPU. */
export class ServiceTargets {
  readonly vma: ReturnType<typeof vmaCalls>;
  readonly syscalls: SyscallStream;
  /** the CPU: SwitchCpu and StreamAccesses of the mmu */
  readonly cpu: ReturnType<typeof grpcMmuPort>;
  /** page_mapcount of frames (what /proc/kpagecount reads), for pagemap's exclusive bit */
  readonly mapcounts: (pfns: readonly number[]) => Promise<number[]>;

  constructor(addresses: ConformServiceAddresses, pool: ClientPool) {
    const client = pool.client(addresses.vmaManager, VmaManagerServiceClient);
    this.vma = vmaCalls(client);
    this.syscalls = new SyscallStream(client);
    this.cpu = grpcMmuPort(pool.client(addresses.mmu, MmuServiceClient));
    const pages = grpcPagesPort(pool.client(addresses.pageAllocator, PageAllocatorServiceClient));
    this.mapcounts = (pfns) => pages.mapcounts(pfns);
  }

  /** A fresh process of the service (nothing mapped), for one case. */
  async newTarget(): Promise<Target> {
    const r = await this.vma.createProcess(CreateProcessRequest.fromPartial({ comm: COMM }));
    return new ServiceTarget(this, r.pid, r.addressSpaceId);
  }

  /** Ends the streams (the pool's channels are the caller's). */
  close(): void {
    this.syscalls.close();
    this.cpu.close();
  }
}

interface PagemapView {
  readonly present: boolean;
  readonly pfn: number;
}

/** One process of the vma-manager service. */
export class ServiceTarget implements Target {
  /** What was read of the process since the last op that may change it (one output line reads twice). */
  private cache: {
    maps?: MapsLine[];
    smaps?: SmapsFigures[];
    pagemap?: { start: number; entries: PagemapView[] };
  } = {};

  constructor(
    private readonly s: ServiceTargets,
    readonly pid: number,
    /** the mmu address space of the process's mm (its CR3) */
    readonly asid: bigint,
  ) {}

  async syscall(line: number, call: Syscall): Promise<SyscallResult> {
    this.forget();
    try {
      const [r] = (await this.s.syscalls.send([syscallToWire(this.pid, call)])).results;
      if (r.errno === WireErrno.ERRNO_UNSPECIFIED) return { ret: Number(r.ret) };
      return { errno: errnoToJSON(r.errno).replace(/^ERRNO_/, '') as ErrnoName };
    } catch (e) {
      // a call the model cannot take (guard markers) is refused as a whole, not answered
      if (e instanceof SyscallBatchRefusedError)
        throw new UnsupportedOpError(`line ${line}: ${call.kind}: ${e.message}`);
      throw e;
    }
  }

  async maps(): Promise<MapsLine[]> {
    const maps = this.cache.maps ?? parseProcMaps(await this.proc(ProcessProcFile.PROCESS_PROC_FILE_MAPS));
    this.cache.maps = maps;
    return maps;
  }

  async smapsOf(vmas: readonly MapsLine[]): Promise<SmapsFigures[]> {
    if (!vmas.length) return [];
    const smaps =
      this.cache.smaps ?? parseProcSmaps(await this.proc(ProcessProcFile.PROCESS_PROC_FILE_SMAPS));
    this.cache.smaps = smaps;
    const byStart = new Map(smaps.map((f) => [f.start, f]));
    return vmas.map((v) => {
      const f = byStart.get(v.start);
      if (!f || f.end !== v.end)
        throw new Error(`pid ${this.pid}: smaps has no VMA ${v.start.toString(16)}-${v.end.toString(16)}`);
      return f;
    });
  }

  /**
   * Pagemap's bits as fs/proc/task_mmu.c sets them: present (63); exclusive (56) for a normal
   * page mapped once (its mapcount, as /proc/kpagecount gives it; the zero page and PFN-map
   * entries are not normal pages); file/shared (61) for a normal page of a VMA with a file
   * (shmem here). The VMAs come from maps and smaps.
   */
  async residency(firstPage: number, lastPage: number): Promise<Residency> {
    if (lastPage <= firstPage) return NOTHING_RESIDENT;
    const start = firstPage * PAGE;
    const entries = await this.pagemapOf(start, lastPage - firstPage);
    const present = entries.flatMap((e, i) => (e.present ? [{ va: start + i * PAGE, pfn: e.pfn }] : []));
    if (!present.length) return NOTHING_RESIDENT;
    const vmas = await this.maps();
    // each present page's VMA (both lists are in address order)
    let k = 0;
    const vmaOf = present.map((p) => {
      while (k < vmas.length && vmas[k].end <= p.va) k++;
      return vmas[k] && vmas[k].start <= p.va ? vmas[k] : undefined;
    });
    // PFN maps (VmFlags `pf`) are device files: only VMAs with a file can be one
    const filed = [...new Set(vmaOf.filter((v): v is MapsLine => v !== undefined && hasInode(v)))];
    const pfnmaps = new Set(
      (await this.smapsOf(filed)).filter((f) => f.vmFlags.split(' ').includes('pf')).map((f) => f.start),
    );
    const distinct = [...new Set(present.map((p) => p.pfn))];
    const mapcounts = await this.s.mapcounts(distinct);
    const counts = new Map(distinct.map((pfn, i) => [pfn, mapcounts[i]]));
    let exclusive = 0;
    let fileShared = 0;
    present.forEach((p, i) => {
      const v = vmaOf[i];
      if (v && pfnmaps.has(v.start)) return;
      if (counts.get(p.pfn) === 1) exclusive += 1;
      if (v && hasInode(v)) fileShared += 1;
    });
    return {
      present: present.length,
      swapped: 0,
      fileShared,
      exclusive,
      guard: 0,
      distinctPfn: distinct.length,
    };
  }

  async touch(_line: number, addr: number, len: number, write: boolean, value: number): Promise<TouchResult> {
    this.forget();
    const pages = Math.ceil(len / PAGE);
    // vmtrace reads ru_minflt around the touch: here it is the service's own count, in /proc/PID/stat
    const minfltBefore = await this.minflt();
    await this.s.cpu.switchTo(CPU, Number(this.asid));
    let walk: Walk;
    try {
      walk = await walkPages(this.machine, addr, pages, write, value);
    } finally {
      // CPU 0 holds no process's address space between walks (the process may exit)
      await this.s.cpu.idle(CPU);
      this.forget();
    }
    let values: Map<number, number> | null = null;
    if (!write) {
      values = new Map();
      for (const b of walk.bytes) values.set(b, (values.get(b) ?? 0) + 1);
    }
    const { done, signal } = walk;
    const minflt = (await this.minflt()) - minfltBefore;
    return { pages, done, signal, faultPage: signal ? done : null, minflt, values };
  }

  /** ru_minflt of the process: field 10 of /proc/PID/stat. */
  private async minflt(): Promise<number> {
    return Number(procStatField(await this.proc(ProcessProcFile.PROCESS_PROC_FILE_STAT), STAT_FIELD.minflt));
  }

  /** The CPU running this process, and its kernel, as the walk sees them. */
  private readonly machine: WalkMachine = {
    access: (accesses) => this.s.cpu.accessBatch(CPU, accesses),
    handleFaults: async (faults) => {
      const r = await this.s.vma.handleFaults(
        HandleFaultsRequest.fromPartial({
          faults: faults.map((f) => ({
            pid: this.pid,
            address: canonical(f.address),
            errorCode: f.errorCode,
          })),
        }),
      );
      return r.outcomes.map(outcomeFromWire);
    },
    present: async (va, count) => (await this.pagemapOf(va, count)).map((e) => e.present),
    maps: () => this.maps(),
  };

  async fork(): Promise<Target> {
    this.forget();
    const r = await this.s.vma.fork(ForkRequest.fromPartial({ pid: this.pid }));
    if (r.errno !== WireErrno.ERRNO_UNSPECIFIED)
      throw new Error(`fork of pid ${this.pid} failed with ${errnoToJSON(r.errno)}`);
    return new ServiceTarget(this.s, r.pid, r.addressSpaceId);
  }

  async exit(): Promise<void> {
    this.forget();
    await this.s.vma.exitProcess(ExitProcessRequest.fromPartial({ pid: this.pid }));
  }

  forget(): void {
    this.cache = {};
  }

  private async proc(file: ProcessProcFile): Promise<string> {
    return (
      await this.s.vma.readProcFile(VmaManagerServiceReadProcFileRequest.fromPartial({ pid: this.pid, file }))
    ).text;
  }

  /** /proc/PID/pagemap of `count` pages from `start`, in calls of at most PAGEMAP_CHUNK pages. */
  private async pagemapOf(start: number, count: number): Promise<PagemapView[]> {
    const c = this.cache.pagemap;
    if (c && c.start <= start && start + count * PAGE <= c.start + c.entries.length * PAGE) {
      const from = (start - c.start) / PAGE;
      return c.entries.slice(from, from + count);
    }
    const entries: PagemapView[] = [];
    for (let i = 0; i < count; i += PAGEMAP_CHUNK) {
      const r = await this.s.vma.pagemap(
        VmaManagerServicePagemapRequest.fromPartial({
          pid: this.pid,
          address: canonical(start + i * PAGE),
          count: Math.min(PAGEMAP_CHUNK, count - i),
        }),
      );
      for (const e of r.entries) entries.push({ present: e.present, pfn: Number(e.pfn) });
    }
    this.cache.pagemap = { start, entries };
    return entries;
  }
}

function outcomeFromWire(o: FaultOutcome): WalkFaultOutcome {
  switch (o) {
    case FaultOutcome.FAULT_OUTCOME_HANDLED:
      return 'handled';
    case FaultOutcome.FAULT_OUTCOME_SIGBUS:
      return 'sigbus';
    case FaultOutcome.FAULT_OUTCOME_SIGSEGV_MAPERR:
    case FaultOutcome.FAULT_OUTCOME_SIGSEGV_ACCERR:
      return 'sigsegv';
    default:
      throw new Error(`vma-manager answered a fault with outcome ${o}`);
  }
}

/** A maps line whose inode column is not 0: the VMA has a file (shmem, memfd, a regular file). */
function hasInode(v: MapsLine): boolean {
  const ino = v.text.split(' ')[4];
  return ino !== undefined && ino !== '0';
}
