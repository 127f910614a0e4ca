import {
  AccessOp,
  DeviceDriversServiceClient,
  Errno as WireErrno,
  FaultOutcome as WireFaultOutcome,
  MmuServiceClient,
  PageAllocatorServiceClient,
  PageFlag,
  PageState,
  PageType,
  ProcFile,
  ProcessProcFile,
  VmaManagerServiceClient,
  VmaManagerServiceReadProcFileRequest,
  errnoToJSON,
  type Page,
  type StreamAccessesRequest,
  type StreamAccessesResponse,
  type StreamSyscallsRequest,
  type StreamSyscallsResponse,
} from '@pagemesh/proto';
import type {
  AccessBatchResult,
  DeviceDriversPort,
  FaultOutcome,
  FrameInfo,
  FrameState,
  MachineSpec,
  MmuPort,
  PageAllocatorPort,
  PagemapEntry,
  PhysMemoryMap,
  ProcessHandle,
  Stack,
  StackFactory,
  SyscallResult,
  UserAccess,
  VmaManagerPort,
} from '@pagemesh/replay';
import { toProcessCall } from '@pagemesh/replay';
import { MAX_GET_PAGES, toNumber } from '@pagemesh/page-allocator-rpc';
import {
  BatchStreamClient,
  ClientPool,
  promisifyUnary as kitUnary,
  type OutgoingCallFigures,
} from '@pagemesh/service-kit';
import { canonicalFromVa48, type Errno } from '@pagemesh/uapi';
import type { ProcessCall } from '@pagemesh/vma-manager';
import { syscallResultFromWire, syscallToWire } from '@pagemesh/vma-manager-rpc';
import { innerBoundaries } from './inner-boundaries';

const PAGE = 4096;
/** The mmu's init_mm: a CPU switched here holds no process's address space (KERNEL_ASID). */
const KERNEL_ADDRESS_SPACE = 0n;
/** Pages per Pagemap call (the service takes up to a 1 GiB range). */
const PAGEMAP_CHUNK = 65_536;
/** Syscalls per StreamSyscalls batch and accesses per StreamAccesses batch (the services' limits). */
const MAX_SYSCALLS = 4096;

/** The services of the stack, as the local launcher names them. */
export type StackServiceName = 'page-allocator' | 'mmu' | 'device-drivers' | 'vma-manager' | 'orchestrator';

/** Services started for one machine: where each listens, and how to stop them all. */
export interface StartedServices {
  readonly addresses: Readonly<Record<StackServiceName, string>>;
  stop(): Promise<void>;
}

/**
 * Starts the services with these extra flags (the CLI's local stack launcher: processes on
 * loopback, ephemeral ports). Injected, so that this library does not depend on the CLI.
 */
export type StartServices = (
  serviceArgs: Partial<Record<StackServiceName, readonly string[]>>,
) => Promise<StartedServices>;

/** The flags that boot the services as the in-process stack boots its domain objects (bootInprocStack). */
export function machineServiceArgs(
  machine: MachineSpec,
): Partial<Record<StackServiceName, readonly string[]>> {
  return {
    'page-allocator': [`--arch=${machine.arch}`, `--mem=${machine.memory}`, `--cpus=${machine.cpus}`],
    // the 4 KiB TLB of each CPU, 4-way, as inproc-stack.ts
    mmu: [`--cpus=${machine.cpus}`, `--tlb-entries=${machine.tlbEntries}`],
  };
}

/** A unary call whose errors say which service method failed. */
const promisifyUnary: typeof kitUnary = (client, method) => {
  const call = kitUnary(client, method);
  return (async (req: never) => {
    try {
      return await call(req);
    } catch (e) {
      if (e instanceof Error) e.message = `${String(method)}: ${e.message}`;
      throw e;
    }
  }) as never;
};

function errnoFromWire(e: WireErrno): Errno {
  return errnoToJSON(e).replace(/^ERRNO_/, '') as Errno;
}

function outcomeFromWire(o: WireFaultOutcome): FaultOutcome {
  switch (o) {
    case WireFaultOutcome.FAULT_OUTCOME_HANDLED:
      return { kind: 'handled', type: 'handled' };
    case WireFaultOutcome.FAULT_OUTCOME_SIGSEGV_MAPERR:
      return { kind: 'sigsegv', code: 'SEGV_MAPERR' };
    case WireFaultOutcome.FAULT_OUTCOME_SIGSEGV_ACCERR:
      return { kind: 'sigsegv', code: 'SEGV_ACCERR' };
    case WireFaultOutcome.FAULT_OUTCOME_SIGBUS:
      return { kind: 'sigbus', code: 'BUS_ADRERR' };
    default:
      throw new Error(`vma-manager answered a fault with outcome ${o}`);
  }
}

const PROC_FILES: Readonly<Record<string, ProcessProcFile>> = {
  maps: ProcessProcFile.PROCESS_PROC_FILE_MAPS,
  smaps: ProcessProcFile.PROCESS_PROC_FILE_SMAPS,
  status: ProcessProcFile.PROCESS_PROC_FILE_STATUS,
};

/**
 * The orchestrator's vma-manager port over VmaManagerService: syscalls (device file calls
 * included, in order with the memory syscalls) in batches on one StreamSyscalls stream, faults
 * in HandleFaults batches, /proc files and drivers' /proc entries with ReadProcFile. Regular files
 * and ftruncate answer ENOSYS, as in-process.
 */
export function grpcVmaManagerPort(client: VmaManagerServiceClient): VmaManagerPort & { close(): void } {
  const stream = new BatchStreamClient<StreamSyscallsRequest, StreamSyscallsResponse>(
    'vma-manager syscalls',
    (o) => client.streamSyscalls(o),
  );
  const createProcess = promisifyUnary(client, 'createProcess');
  const fork = promisifyUnary(client, 'fork');
  const exitProcess = promisifyUnary(client, 'exitProcess');
  const handleFaults = promisifyUnary(client, 'handleFaults');
  const readProcFile = promisifyUnary(client, 'readProcFile');
  const pagemap = promisifyUnary(client, 'pagemap');
  const handle = (r: { pid: number; addressSpaceId: bigint }): ProcessHandle => ({
    pid: r.pid,
    asid: toNumber('address_space_id', r.addressSpaceId),
  });

  return {
    async createProcess(comm) {
      return handle(await createProcess({ comm }));
    },
    async fork(parentPid) {
      const r = await fork({ pid: parentPid });
      if (r.errno !== WireErrno.ERRNO_UNSPECIFIED) return { errno: errnoFromWire(r.errno) };
      return handle(r);
    },
    async exit(pid) {
      await exitProcess({ pid });
    },
    async syscalls(pid, calls) {
      const out = new Array<SyscallResult>(calls.length);
      const sent: { index: number; call: ProcessCall }[] = [];
      calls.forEach((c, index) => {
        const call = toProcessCall(c);
        // regular files and memfds are not modelled (as in-process): nothing to send
        if (call) sent.push({ index, call });
        else out[index] = { errno: 'ENOSYS' };
      });
      for (let i = 0; i < sent.length; i += MAX_SYSCALLS) {
        const part = sent.slice(i, i + MAX_SYSCALLS);
        const res = await stream.send((batchId) => ({
          batchId,
          calls: part.map((s) => syscallToWire(pid, s.call)),
        }));
        res.results.forEach((r, k) => {
          const { index, call } = part[k];
          const result = syscallResultFromWire(r);
          // read answers its bytes, none included (as in-process)
          out[index] =
            call.kind === 'read' && 'ret' in result
              ? { ret: result.ret, data: result.data ?? new Uint8Array(0) }
              : result;
        });
      }
      return out;
    },
    async handleFaults(pid, faults) {
      const r = await handleFaults({
        faults: faults.map((f) => ({ pid, address: canonicalFromVa48(f.address), errorCode: f.errorCode })),
      });
      return r.outcomes.map(outcomeFromWire);
    },
    async proc(pid, file) {
      const which = PROC_FILES[file];
      if (which !== undefined)
        return (await readProcFile(VmaManagerServiceReadProcFileRequest.fromPartial({ pid, file: which })))
          .text;
      if (!file.startsWith('/proc/')) return null;
      const r = await readProcFile(
        VmaManagerServiceReadProcFileRequest.fromPartial({ pid, entry: file.slice('/proc/'.length) }),
      );
      // ENOENT: no driver created the entry
      return r.errno === WireErrno.ERRNO_UNSPECIFIED ? r.text : null;
    },
    async pagemap(pid, va, pages): Promise<PagemapEntry[]> {
      const out: PagemapEntry[] = [];
      for (let i = 0; i < pages; i += PAGEMAP_CHUNK) {
        const count = Math.min(PAGEMAP_CHUNK, pages - i);
        const r = await pagemap({ pid, address: canonicalFromVa48(va + i * PAGE), count });
        for (const e of r.entries)
          out.push({ present: e.present, pfn: e.present ? toNumber('pfn', e.pfn) : null });
      }
      return out;
    },
    close: () => stream.close(),
  };
}

const WIRE_OPS: Readonly<Record<UserAccess['op'], AccessOp>> = {
  read: AccessOp.ACCESS_OP_READ,
  write: AccessOp.ACCESS_OP_WRITE,
  fetch: AccessOp.ACCESS_OP_FETCH,
};

/** The orchestrator's mmu port over MmuService: access batches on one StreamAccesses stream. */
export function grpcMmuPort(client: MmuServiceClient): MmuPort & { close(): void } {
  const stream = new BatchStreamClient<StreamAccessesRequest, StreamAccessesResponse>('mmu accesses', (o) =>
    client.streamAccesses(o),
  );
  const switchCpu = promisifyUnary(client, 'switchCpu');
  const pagingInfo = promisifyUnary(client, 'getPagingInfo');
  const tlbStats = promisifyUnary(client, 'getTlbStats');
  return {
    async switchTo(cpu, asid) {
      await switchCpu({ cpu, addressSpaceId: BigInt(asid) });
    },
    async idle(cpu) {
      await switchCpu({ cpu, addressSpaceId: KERNEL_ADDRESS_SPACE });
    },
    async accessBatch(cpu, accesses): Promise<AccessBatchResult> {
      const res = await stream.send((batchId) => ({
        batchId,
        accesses: accesses.map((a) => {
          const data = a.op === 'write' ? (a.data ?? Uint8Array.of(1)) : undefined;
          return {
            cpu,
            address: canonicalFromVa48(a.va),
            op: WIRE_OPS[a.op],
            user: true,
            length: a.op === 'write' ? 0 : (a.length ?? 1),
            data: data ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.alloc(0),
          };
        }),
      }));
      const done: { data?: Uint8Array }[] = [];
      for (const [i, r] of res.results.entries()) {
        const result = r.result;
        if (!result) throw new Error(`mmu answered access ${i} with no result`);
        switch (result.$case) {
          case 'data':
            // a write answers no data in-process
            done.push(accesses[i].op === 'write' ? {} : { data: new Uint8Array(result.value) });
            continue;
          case 'pageFault':
            return {
              done,
              fault: {
                kind: 'page-fault',
                address: toVa48(result.value.address),
                errorCode: result.value.errorCode,
              },
            };
          case 'generalProtection':
            return { done, fault: { kind: 'general-protection' } };
          case 'skipped':
            return { done };
        }
      }
      return { done };
    },
    async tlbStats() {
      const { cpus } = await pagingInfo({});
      return Promise.all(
        Array.from({ length: cpus }, async (_, cpu) => {
          const s = await tlbStats({ cpu });
          return { cpu, hits: toNumber('hits', s.hits), misses: toNumber('misses', s.misses) };
        }),
      );
    },
    async pageTablePages() {
      return toNumber('table_pages', (await pagingInfo({})).tablePages);
    },
    close: () => stream.close(),
  };
}

/** CR2 as the mmu reports it (canonical) → va48. */
function toVa48(address: bigint): number {
  return Number(address & 0xffff_ffff_ffffn);
}

/** What a frame is used for, from its struct page (as the in-process view decides it). */
function frameState(p: Page): FrameState {
  if (p.state === PageState.PAGE_STATE_FREE) return 'free';
  if (p.state === PageState.PAGE_STATE_RESERVED) return 'reserved';
  if (p.pageType === PageType.PAGE_TYPE_TABLE) return 'page-table';
  if (p.flags.includes(PageFlag.PAGE_FLAG_SLAB)) return 'slab';
  return 'allocated';
}

function stateName(s: PageState): FrameInfo['state'] {
  if (s === PageState.PAGE_STATE_FREE) return 'free';
  if (s === PageState.PAGE_STATE_RESERVED) return 'reserved';
  if (s === PageState.PAGE_STATE_ALLOCATED) return 'allocated';
  throw new Error(`page allocator answered a page with state ${s}`);
}

/** The orchestrator's page-allocator port over PageAllocatorService. */
export function grpcPageAllocatorView(client: PageAllocatorServiceClient): PageAllocatorPort {
  const readProcFile = promisifyUnary(client, 'readProcFile');
  const getMachine = promisifyUnary(client, 'getMachine');
  const getPages = promisifyUnary(client, 'getPages');
  const zoneNames = async () => new Map((await getMachine({})).zones.map((z) => [z.zone, z.name]));
  /** Pages [start, start + count), in GetPages calls of at most MAX_GET_PAGES. */
  const pages = async (start: number, count: number): Promise<Page[]> => {
    const out: Page[] = [];
    for (let i = 0; i < count; i += MAX_GET_PAGES) {
      const n = Math.min(MAX_GET_PAGES, count - i);
      out.push(...(await getPages({ startPfn: BigInt(start + i), count: n })).pages);
    }
    return out;
  };
  return {
    async buddyinfo() {
      return (await readProcFile({ file: ProcFile.PROC_FILE_BUDDYINFO })).text;
    },
    async meminfo() {
      return (await readProcFile({ file: ProcFile.PROC_FILE_MEMINFO })).text;
    },
    async counters() {
      const m = await getMachine({});
      const pagesAllocatedByZone: Record<string, number> = {};
      for (const z of m.zones)
        if (z.spannedPages > 0n) pagesAllocatedByZone[z.name] = toNumber('pages_allocated', z.pagesAllocated);
      // the allocator counts pages per zone (pgalloc_*), not allocations per order
      return {
        totalPages: toNumber('total_pages', m.totalPages),
        freePages: toNumber('free_pages', m.freePages),
        allocationsByOrder: [],
        pagesAllocatedByZone,
      };
    },
    async frames(pfns) {
      const names = await zoneNames();
      const out: FrameInfo[] = [];
      // consecutive PFNs in one call
      for (let i = 0; i < pfns.length;) {
        let j = i + 1;
        while (j < pfns.length && pfns[j] === pfns[j - 1] + 1 && j - i < MAX_GET_PAGES) j++;
        for (const p of await pages(pfns[i], j - i)) {
          out.push({
            pfn: toNumber('pfn', p.pfn),
            refcount: p.refcount,
            mapcount: p.mapcount,
            state: stateName(p.state),
            zone: names.get(p.zone) ?? String(p.zone),
          });
        }
        i = j;
      }
      return out;
    },
    async memoryMap(): Promise<PhysMemoryMap> {
      const m = await getMachine({});
      const total = toNumber('total_pages', m.totalPages);
      const runs: { startPfn: number; count: number; state: FrameState }[] = [];
      let pfn = 0;
      for (const p of await pages(0, total)) {
        const state = frameState(p);
        const last = runs[runs.length - 1];
        if (last && last.state === state) last.count++;
        else runs.push({ startPfn: pfn, count: 1, state });
        pfn++;
      }
      return {
        totalPfns: total,
        zones: m.zones
          .filter((z) => z.spannedPages > 0n)
          .map((z) => {
            const startPfn = toNumber('start_pfn', z.startPfn);
            return { name: z.name, startPfn, endPfn: startPfn + toNumber('spanned_pages', z.spannedPages) };
          }),
        runs,
      };
    },
  };
}

/** The orchestrator's device-drivers port over DeviceDriversService. */
export function grpcDeviceDriversPort(client: DeviceDriversServiceClient): DeviceDriversPort {
  const result = (r: { errno: WireErrno }): SyscallResult =>
    r.errno !== WireErrno.ERRNO_UNSPECIFIED ? { errno: errnoFromWire(r.errno) } : { ret: 0 };
  const loadModule = promisifyUnary(client, 'loadModule');
  const unloadModule = promisifyUnary(client, 'unloadModule');
  const mknod = promisifyUnary(client, 'mknod');
  const unlink = promisifyUnary(client, 'unlink');
  return {
    loadModule: async (name) => result(await loadModule({ name, params: {} })),
    unloadModule: async (name) => result(await unloadModule({ name })),
    mknod: async (path, major, minor) => result(await mknod({ path, major, minor })),
    unlink: async (path) => result(await unlink({ path })),
  };
}

/**
 * The four ports over the services at these addresses, one channel each (the kit's ClientPool),
 * and the boundaries below them: what each service called since it started (or since the `since`
 * snapshot), asked of its BoundaryService. A stack started for the workload is fresh, so that is
 * the workload's (its boot included, as in-process, where the recorder wraps the ports before
 * the mmu boots).
 */
export function grpcStack(
  addresses: Readonly<Record<StackServiceName, string>>,
  pool: ClientPool,
  since: readonly OutgoingCallFigures[] = [],
): Omit<Stack, 'close'> & { closeStreams(): void } {
  const vma = grpcVmaManagerPort(pool.client(addresses['vma-manager'], VmaManagerServiceClient));
  const mmu = grpcMmuPort(pool.client(addresses.mmu, MmuServiceClient));
  return {
    transport: 'grpc',
    vma,
    mmu,
    pages: grpcPageAllocatorView(pool.client(addresses['page-allocator'], PageAllocatorServiceClient)),
    devices: grpcDeviceDriversPort(pool.client(addresses['device-drivers'], DeviceDriversServiceClient)),
    innerBoundaries: innerBoundaries(addresses, pool, since),
    closeStreams: () => {
      vma.close();
      mmu.close();
    },
  };
}

/**
 * The `grpc` transport: for each workload, the five services started as local processes for its
 * machine (page-allocator --arch/--mem/--cpus, mmu --cpus/--tlb-entries), the four replay ports
 * over their clients, and `close()` stopping them. The same workload and seed give the same
 * answers as bootInprocStack.
 */
export function grpcStackFactory(start: StartServices): StackFactory {
  return async (machine: MachineSpec): Promise<Stack> => {
    const services = await start(machineServiceArgs(machine));
    const pool = new ClientPool({ caller: 'orchestrator' });
    const stack = grpcStack(services.addresses, pool);
    const { closeStreams, ...ports } = stack;
    return {
      ...ports,
      close: async () => {
        closeStreams();
        pool.close();
        await services.stop();
      },
    };
  };
}
