import type { ServerDuplexStream, ServerUnaryCall } from '@grpc/grpc-js';
import { wireVa } from '@pagemesh/mmu-rpc';
import { checkBatch } from '@pagemesh/page-allocator-rpc';
import { Errno } from '@pagemesh/proto';
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
import { PidsExhaustedError, type VmaManager } from '@pagemesh/vma-manager';
import { faultOutcomeToWire, procFileFromWire, syscallFromWire, syscallResultToWire } from './wire';

/** Largest number of syscalls in one StreamSyscalls batch. */
export const MAX_SYSCALLS_PER_BATCH = 4096;
/** Largest number of faults in one HandleFaults call. */
export const MAX_FAULTS_PER_BATCH = 4096;
/** Largest number of pages in one Pagemap call (a 1 GiB range). */
export const MAX_PAGEMAP_PAGES = 262_144;

const PAGE = 4096;

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>) => Promise<Res>;

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
    const results = await manager.syscalls(batch);
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
    readProcFile: unary(
      async (req: VmaManagerServiceReadProcFileRequest): Promise<VmaManagerServiceReadProcFileResponse> => ({
        text: await manager.procFile(req.pid, procFileFromWire(req.file)),
      }),
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
