import type { ServerDuplexStream, ServerUnaryCall } from '@grpc/grpc-js';
import { wireVa } from '@pagemesh/mmu-rpc';
import { checkBatch } from '@pagemesh/page-allocator-rpc';
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
  VmaManagerServiceReadProcFileResponse,
} from '@pagemesh/proto';
import type { VmaManager } from '@pagemesh/vma-manager';
import { faultOutcomeToWire, procFileFromWire, syscallFromWire, syscallResultToWire } from './wire';

/** Largest number of syscalls in one StreamSyscalls batch. */
export const MAX_SYSCALLS_PER_BATCH = 4096;
/** Largest number of faults in one HandleFaults call. */
export const MAX_FAULTS_PER_BATCH = 4096;

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
    createProcess: unary(async (req: CreateProcessRequest): Promise<CreateProcessResponse> => ({
      pid: await manager.createProcess(req.comm),
    })),
    exitProcess: unary(async (req: ExitProcessRequest): Promise<ExitProcessResponse> => {
      await manager.exitProcess(req.pid);
      return {};
    }),
    readProcFile: unary(
      async (req: VmaManagerServiceReadProcFileRequest): Promise<VmaManagerServiceReadProcFileResponse> => ({
        text: await manager.procFile(req.pid, procFileFromWire(req.file)),
      }),
    ),
    fork: unary(async (req: ForkRequest): Promise<ForkResponse> => ({ pid: await manager.fork(req.pid) })),
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
