import type { ServerUnaryCall } from '@grpc/grpc-js';
import {
  MAX_RW_COUNT,
  type DeviceDrivers,
  type DriverMemoryView,
  type DriverVma,
  type FileInfo,
} from '@pagemesh/device-drivers';
import { pgprotFromWire, vmFlagsFromWire, wireVa } from '@pagemesh/mmu-rpc';
import { checkBatch, toBigints, toNumber } from '@pagemesh/page-allocator-rpc';
import {
  DriverMemorySource,
  Errno,
  type DeviceFile,
  type GetDriverMemoryRequest,
  type GetDriverMemoryResponse,
  type GetFileRequest,
  type GetFileResponse,
  type ListDevicesResponse,
  type ListModulesResponse,
  type LoadModuleRequest,
  type MknodRequest,
  type MmapRequest,
  type MmapResponse,
  type OpenRequest,
  type OpenResponse,
  type PutFileRequest,
  type PutFileResponse,
  type ReadProcRequest,
  type ReadProcResponse,
  type ReadRequest,
  type ReadResponse,
  type UnlinkRequest,
  type UnloadModuleRequest,
  type WriteRequest,
  type WriteResponse,
} from '@pagemesh/proto';
import { DomainError } from '@pagemesh/service-kit';
import { ERRNO, canonicalFromVa48, type Errno as ErrnoName } from '@pagemesh/uapi';

/** Largest number of file ids one GetFile or PutFile call may carry. */
export const MAX_FILES_PER_CALL = 4096;
/** Largest number of VMAs a ReadProc request may describe (DEFAULT_MAX_MAP_COUNT, include/linux/mm.h). */
export const MAX_PROC_VMAS = 65_530;

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>) => Promise<Res>;

/** An errno name (or null for success) → the proto enum, whose numbers are Linux's. */
export function errnoToWire(name: ErrnoName | null): Errno {
  return name === null ? Errno.ERRNO_UNSPECIFIED : (ERRNO[name] as Errno);
}

/** The mmu's (lo, hi) pgprot words → the 64-bit wire value (the inverse of pgprotFromWire). */
export function pgprotToWire(p: { readonly lo: number; readonly hi: number }): bigint {
  return (BigInt(p.hi >>> 0) << 32n) | BigInt(p.lo >>> 0);
}

function fileToWire(f: FileInfo): DeviceFile {
  return {
    id: BigInt(f.id),
    path: f.path,
    major: f.major,
    minor: f.minor,
    flags: f.flags,
    fMode: f.fMode,
    pos: BigInt(f.pos),
    count: f.count,
    module: f.module,
  };
}

/** A size_t count: the VFS clamps it to MAX_RW_COUNT, so anything larger moves the same bytes. */
function rwCount(value: bigint): number {
  return value > BigInt(MAX_RW_COUNT) ? MAX_RW_COUNT : Number(value);
}

/** A loff_t offset: negative ones reach the VFS (EINVAL there); beyond 2^53 is refused here. */
function rwOffset(value: bigint | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new DomainError('invalid-argument', `offset=${value}: beyond what this model addresses`, {
      field: 'offset',
      value,
    });
  }
  return Number(value);
}

function clampSafe(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

function fileIdOf(field: string, value: bigint): number {
  return toNumber(field, value);
}

const SOURCES: Record<DriverMemoryView['source'], DriverMemorySource> = {
  kmalloc: DriverMemorySource.DRIVER_MEMORY_SOURCE_KMALLOC,
  vmalloc: DriverMemorySource.DRIVER_MEMORY_SOURCE_VMALLOC,
  alloc_pages: DriverMemorySource.DRIVER_MEMORY_SOURCE_ALLOC_PAGES,
};

function memoryToWire(m: DriverMemoryView): GetDriverMemoryResponse {
  return {
    loaded: true,
    source: SOURCES[m.source],
    // kmalloc_ptr and vmalloc_area are kernel addresses; alloc_pages returned a PFN.
    allocation: m.source === 'alloc_pages' ? BigInt(m.allocation) : canonicalFromVa48(m.allocation),
    allocationArg: BigInt(m.allocationArg),
    kaddr: m.kaddr === null ? undefined : canonicalFromVa48(m.kaddr),
    pfns: toBigints(m.pfns),
    reserved: [...m.reserved],
  };
}

/**
 * The DeviceDriversService handlers over one domain DeviceDrivers. Each converts the request
 * (canonical addresses to va48, VM flags to bits, pgprot to words), calls the domain and converts
 * the answer back; errnos are values, the domain's typed errors become statuses in the kit.
 */
export function deviceDriversHandlers(drivers: DeviceDrivers) {
  const listModules = async (): Promise<ListModulesResponse> => ({
    modules: drivers.listModules().map((m) => ({
      name: m.name,
      description: m.description,
      loaded: m.loaded,
      refcount: m.refcount,
      params: m.params.map((p) => ({
        name: p.name,
        description: p.description,
        defaultValue: p.defaultValue,
      })),
    })),
  });

  const loadModule = async (req: LoadModuleRequest) => ({
    errno: errnoToWire((await drivers.loadModule(req.name, req.params)).errno),
  });

  const unloadModule = async (req: UnloadModuleRequest) => ({
    errno: errnoToWire((await drivers.unloadModule(req.name)).errno),
  });

  const mknod = async (req: MknodRequest) => ({
    errno: errnoToWire((await drivers.mknod(req.path, req.major, req.minor)).errno),
  });

  const unlink = async (req: UnlinkRequest) => ({
    errno: errnoToWire((await drivers.unlink(req.path)).errno),
  });

  const listDevices = async (): Promise<ListDevicesResponse> => ({
    nodes: drivers.deviceNodes().map((n) => ({ path: n.path, major: n.major, minor: n.minor })),
    regions: drivers.chrdevRegions().map((r) => ({ ...r })),
    procDevices: drivers.procDevices(),
  });

  const open = async (req: OpenRequest): Promise<OpenResponse> => {
    const r = await drivers.open(req.path, req.flags);
    return 'file' in r
      ? { file: fileToWire(r.file), errno: Errno.ERRNO_UNSPECIFIED }
      : { file: undefined, errno: errnoToWire(r.errno) };
  };

  /**
   * Every id must name an open file before any reference changes (checked against the state the
   * request finds); the domain calls are then queued back to back, in request order.
   */
  const fileIds = (ids: readonly bigint[]): number[] => {
    checkBatch('file_ids', ids.length, MAX_FILES_PER_CALL);
    return ids.map((id, i) => {
      const n = fileIdOf(`file_ids[${i}]`, id);
      drivers.fileInfo(n);
      return n;
    });
  };

  const getFile = async (req: GetFileRequest): Promise<GetFileResponse> => {
    const ids = fileIds(req.fileIds);
    const files = await Promise.all(ids.map((id) => drivers.getFile(id)));
    return { files: files.map(fileToWire) };
  };

  const putFile = async (req: PutFileRequest): Promise<PutFileResponse> => {
    const ids = fileIds(req.fileIds);
    const puts = new Map<number, number>();
    for (const id of ids) puts.set(id, (puts.get(id) ?? 0) + 1);
    for (const [id, n] of puts) {
      const count = drivers.fileInfo(id).count;
      if (n > count) {
        throw new DomainError(
          'invalid-argument',
          `file_ids: file ${id} is put ${n} times but holds ${count} references`,
          { field: 'file_ids', value: id },
        );
      }
    }
    const results = await Promise.all(ids.map((id) => drivers.fput(id)));
    return { released: results.map((r) => r.released) };
  };

  const read = async (req: ReadRequest): Promise<ReadResponse> => {
    const r = await drivers.read(fileIdOf('file_id', req.fileId), rwCount(req.count), rwOffset(req.offset));
    return 'data' in r
      ? {
          data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength),
          errno: Errno.ERRNO_UNSPECIFIED,
        }
      : { data: Buffer.alloc(0), errno: errnoToWire(r.errno) };
  };

  const write = async (req: WriteRequest): Promise<WriteResponse> => {
    const count = req.count === undefined ? req.data.length : rwCount(req.count);
    const r = await drivers.write(fileIdOf('file_id', req.fileId), req.data, count, rwOffset(req.offset));
    return 'written' in r
      ? { written: BigInt(r.written), errno: Errno.ERRNO_UNSPECIFIED }
      : { written: 0n, errno: errnoToWire(r.errno) };
  };

  const mmap = async (req: MmapRequest): Promise<MmapResponse> => {
    const fileId = fileIdOf('file_id', req.fileId);
    const v = req.vma;
    if (!v) throw new DomainError('invalid-argument', 'vma is missing', { field: 'vma' });
    const vma: DriverVma = {
      vmStart: wireVa('vma.vm_start', v.vmStart),
      vmEnd: wireVa('vma.vm_end', v.vmEnd),
      vmFlags: vmFlagsFromWire(v.vmFlags),
      vmPgoff: toNumber('vma.vm_pgoff', v.vmPgoff),
      vmPageProt: pgprotFromWire(req.vmPageProt),
    };
    const r = await drivers.mmap(fileId, vma);
    if ('errno' in r) return { requests: [], errno: errnoToWire(r.errno) };
    return {
      requests: r.requests.map((q) => ({
        addressSpaceId: 0n,
        vma: v,
        addr: canonicalFromVa48(q.addr),
        pfn: BigInt(q.pfn),
        size: BigInt(q.size),
        pgprot: pgprotToWire(q.pgprot),
      })),
      errno: Errno.ERRNO_UNSPECIFIED,
    };
  };

  const readProc = async (req: ReadProcRequest): Promise<ReadProcResponse> => {
    checkBatch('vmas', req.vmas.length, MAX_PROC_VMAS);
    const ctx = {
      pid: req.pid,
      comm: req.comm,
      vmas: req.vmas.map((v, i) => ({
        start: wireVa(`vmas[${i}].vm_start`, v.vmStart),
        end: wireVa(`vmas[${i}].vm_end`, v.vmEnd),
      })),
    };
    // seq_read of a count or position beyond any text is simply short: clamp, never refuse
    const count = req.count === undefined ? undefined : clampSafe(req.count);
    const r = await drivers.readProc(req.name, ctx, count, clampSafe(req.pos));
    return 'text' in r
      ? { text: r.text, errno: Errno.ERRNO_UNSPECIFIED }
      : { text: '', errno: errnoToWire(r.errno) };
  };

  const getDriverMemory = async (req: GetDriverMemoryRequest): Promise<GetDriverMemoryResponse> => {
    const m = await drivers.driverMemory(req.module);
    if (m === null) {
      return {
        loaded: false,
        source: DriverMemorySource.DRIVER_MEMORY_SOURCE_UNSPECIFIED,
        allocation: 0n,
        allocationArg: 0n,
        kaddr: undefined,
        pfns: [],
        reserved: [],
      };
    }
    return memoryToWire(m);
  };

  const unary =
    <Req, Res>(fn: (req: Req) => Promise<Res>): Unary<Req, Res> =>
    (call) =>
      fn(call.request);

  return {
    listModules: unary(listModules),
    loadModule: unary(loadModule),
    unloadModule: unary(unloadModule),
    mknod: unary(mknod),
    unlink: unary(unlink),
    listDevices: unary(listDevices),
    open: unary(open),
    getFile: unary(getFile),
    putFile: unary(putFile),
    read: unary(read),
    write: unary(write),
    mmap: unary(mmap),
    readProc: unary(readProc),
    getDriverMemory: unary(getDriverMemory),
    getKernelLog: unary(async () => ({ lines: [...drivers.dmesg()] })),
  };
}
