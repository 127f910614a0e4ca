import type { ServerDuplexStream, ServerUnaryCall } from '@grpc/grpc-js';
import { wireVa } from '@pagemesh/mmu-rpc';
import { checkBatch } from '@pagemesh/page-allocator-rpc';
import { Errno, ProcessProcFile } from '@pagemesh/proto';
import { DomainError } from '@pagemesh/service-kit';
import type {
  CreateProcessRequest,
  CreateProcessResponse,
  ExitProcessRequest,
  ExitProcessResponse,
  ForkRequest,
  ForkResponse,
  HandleFaultsRequest,
  HandleFaultsResponse,
  StreamSyscallsRequest,
  StreamSyscallsResponse,
  VmaManagerServiceReadProcFileRequest,
  VmaManagerServicePagemapRequest,
  VmaManagerServicePagemapResponse,
  VmaManagerServiceReadProcFileResponse,
} from '@pagemesh/proto';
import {
  NoSuchProcessError,
  PidsExhaustedError,
  ProcessExitedError,
  checkSyscall,
  isFileCall,
  runFileCall,
  type ProcessCall,
  type ProcessCallResult,
  type Syscall,
  type VmaManager,
} from '@pagemesh/vma-manager';
import {
  errnoToWire,
  faultOutcomeToWire,
  procFileFromWire,
  syscallFromWire,
  syscallResultToWire,
} from './wire';

/** Largest number of syscalls in one StreamSyscalls batch. */
export const MAX_SYSCALLS_PER_BATCH = 4096;
/** Largest number of faults in one HandleFaults call. */
export const MAX_FAULTS_PER_BATCH = 4096;
/** Largest number of pages in one Pagemap call (a 1 GiB range). */
export const MAX_PAGEMAP_PAGES = 262_144;

const PAGE = 4096;

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>) => Promise<Res>;

/** One call of a StreamSyscalls batch, converted. */
interface BatchCall {
  readonly pid: number;
  readonly call: ProcessCall;
}

/** The process table's own refusals of a pid, naming the batch's field. */
function checkAlive(manager: VmaManager, field: string, pid: number): void {
  let alive: boolean;
  try {
    alive = manager.task(pid).alive;
  } catch (e) {
    if (e instanceof NoSuchProcessError) throw new NoSuchProcessError(field, pid);
    throw e;
  }
  if (!alive) throw new ProcessExitedError(field, pid);
}

/**
 * Runs a batch that mixes memory syscalls and file calls: each run of memory syscalls as one
 * process-table batch, each file call on the table's fd method, all queued on the table before
 * the first runs (the table runs its requests in call order, so nothing another stream sends can
 * come in between). The batch is checked first, as a memory-only batch is (every pid alive,
 * every memory syscall well formed), so a bad one changes nothing; a process that exits in the
 * meantime by another caller's request is the one case that fails a batch half done.
 */
function runMixedBatch(manager: VmaManager, calls: readonly BatchCall[]): Promise<ProcessCallResult[]> {
  calls.forEach((c, i) => {
    checkAlive(manager, `calls[${i}].pid`, c.pid);
    if (!isFileCall(c.call)) checkSyscall(`calls[${i}]`, c.call);
  });
  const parts: Promise<ProcessCallResult[]>[] = [];
  let run: { pid: number; call: Syscall }[] = [];
  const flush = () => {
    if (run.length) parts.push(manager.syscalls(run));
    run = [];
  };
  for (const c of calls) {
    if (!isFileCall(c.call)) {
      run.push({ pid: c.pid, call: c.call });
      continue;
    }
    flush();
    parts.push(runFileCall(manager, c.pid, c.call).then((r) => [r]));
  }
  flush();
  return Promise.all(parts).then((results) => results.flat());
}

const unary =
  <Req, Res>(fn: (req: Req) => Promise<Res>): Unary<Req, Res> =>
  (call) =>
    fn(call.request);

/**
 * The VmaManagerService handlers over one process table. Conversions happen here: fault
 * addresses (CR2) must be canonical and become va48; syscall arguments stay raw u64 values (the
 * syscall answers a bad one with its errno); errno names become the proto's Errno.
 */
export function vmaManagerHandlers(manager: VmaManager) {
  const syscallBatch = async (req: StreamSyscallsRequest): Promise<StreamSyscallsResponse> => {
    checkBatch('calls', req.calls.length, MAX_SYSCALLS_PER_BATCH);
    const batch = req.calls.map((s, i) => ({ pid: s.pid, call: syscallFromWire(`calls[${i}]`, s) }));
    const memoryOnly = (b: BatchCall[]): b is { pid: number; call: Syscall }[] =>
      b.every((c) => !isFileCall(c.call));
    const results = memoryOnly(batch) ? await manager.syscalls(batch) : await runMixedBatch(manager, batch);
    return { batchId: req.batchId, results: results.map(syscallResultToWire), failure: '' };
  };

  return {
    createProcess: unary(async (req: CreateProcessRequest): Promise<CreateProcessResponse> => {
      const pid = await manager.createProcess(req.comm);
      return { pid, addressSpaceId: BigInt(manager.task(pid).mm.asid) };
    }),
    exitProcess: unary(async (req: ExitProcessRequest): Promise<ExitProcessResponse> => {
      await manager.exitProcess(req.pid);
      return {};
    }),
    /** The process's own maps/smaps/status, or (with `entry`) a driver's /proc entry it reads. */
    readProcFile: unary(
      async (req: VmaManagerServiceReadProcFileRequest): Promise<VmaManagerServiceReadProcFileResponse> => {
        if (req.entry === '')
          return {
            text: await manager.procFile(req.pid, procFileFromWire(req.file)),
            errno: Errno.ERRNO_UNSPECIFIED,
          };
        if (req.file !== ProcessProcFile.PROCESS_PROC_FILE_UNSPECIFIED)
          throw new DomainError(
            'invalid-argument',
            `file=${ProcessProcFile[req.file] ?? req.file}: a request names a file or an entry, not both`,
            { field: 'file', value: req.file },
          );
        const r = await manager.procEntry(req.pid, req.entry);
        return 'errno' in r
          ? { text: '', errno: errnoToWire(r.errno) }
          : { text: r.text, errno: Errno.ERRNO_UNSPECIFIED };
      },
    ),
    fork: unary(async (req: ForkRequest): Promise<ForkResponse> => {
      try {
        const pid = await manager.fork(req.pid);
        return { pid, addressSpaceId: BigInt(manager.task(pid).mm.asid), errno: Errno.ERRNO_UNSPECIFIED };
      } catch (e) {
        // alloc_pid failing makes fork return -EAGAIN (kernel/fork.c)
        if (e instanceof PidsExhaustedError) return { pid: 0, addressSpaceId: 0n, errno: Errno.ERRNO_EAGAIN };
        throw e;
      }
    }),
    pagemap: unary(
      async (req: VmaManagerServicePagemapRequest): Promise<VmaManagerServicePagemapResponse> => {
        checkBatch('count', req.count, MAX_PAGEMAP_PAGES);
        const va = wireVa('address', req.address);
        if (va % PAGE !== 0)
          throw new DomainError('invalid-argument', `address=${req.address}: not page aligned`, {
            field: 'address',
            value: String(req.address),
          });
        const entries = await manager.task(req.pid).mm.pagemap(va, va + req.count * PAGE);
        return {
          entries: entries.map((e) => ({
            present: e.present,
            pfn: e.present && e.pfn !== null ? BigInt(e.pfn) : 0n,
          })),
        };
      },
    ),
    handleFaults: unary(async (req: HandleFaultsRequest): Promise<HandleFaultsResponse> => {
      checkBatch('faults', req.faults.length, MAX_FAULTS_PER_BATCH);
      const batch = req.faults.map((f, i) => ({
        pid: f.pid,
        address: wireVa(`faults[${i}].address`, f.address),
        errorCode: f.errorCode,
      }));
      return { outcomes: (await manager.handleFaults(batch)).map(faultOutcomeToWire) };
    }),
    /**
     * Batches run in arrival order (the process table serializes them) and are answered in that
     * order. A batch the table refuses is answered with `failure` and no results; the stream
     * goes on.
     */
    streamSyscalls: (call: ServerDuplexStream<StreamSyscallsRequest, StreamSyscallsResponse>) =>
      new Promise<void>((resolve, reject) => {
        let chain: Promise<void> = Promise.resolve();
        call.on('data', (req: StreamSyscallsRequest) => {
          const answer = syscallBatch(req).catch((err: unknown) => {
            if (err instanceof Error && 'kind' in err)
              return { batchId: req.batchId, results: [], failure: err.message };
            throw err;
          });
          chain = chain.then(async () => {
            call.write(await answer);
          });
          chain.catch(reject);
        });
        call.on('end', () => {
          chain.then(() => {
            call.end();
            resolve();
          }, reject);
        });
        call.on('error', reject);
      }),
  };
}
