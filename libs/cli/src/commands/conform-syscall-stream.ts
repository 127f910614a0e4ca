import {
  StreamSyscallsRequest,
  type StreamSyscallsResponse,
  type Syscall as WireSyscall,
  type VmaManagerServiceClient,
} from '@pagemesh/proto';
import { BatchRefusedError, BatchStreamClient } from '@pagemesh/service-kit';

/**
 * The conformance runner's StreamSyscalls: a script waits for each syscall's answer before its
 * next op, so one batch is in flight at a time; ordering, rotation and failures are the kit's.
 */
export class SyscallStream {
  private readonly stream: BatchStreamClient<StreamSyscallsRequest, StreamSyscallsResponse>;

  constructor(client: VmaManagerServiceClient) {
    this.stream = new BatchStreamClient('StreamSyscalls', (options) => client.streamSyscalls(options));
  }

  /** Sends the calls as one batch; rejects when the service refuses it (`failure`) or the stream breaks. */
  async send(calls: WireSyscall[]): Promise<StreamSyscallsResponse> {
    if (this.stream.inFlight) throw new Error('StreamSyscalls: a batch is already in flight');
    try {
      return await this.stream.send((batchId) => StreamSyscallsRequest.fromPartial({ batchId, calls }));
    } catch (e) {
      if (e instanceof BatchRefusedError) throw new SyscallBatchRefusedError(e.failure);
      throw e;
    }
  }

  close(): void {
    this.stream.close();
  }
}

/** Thrown when the vma-manager refuses a syscall batch as a whole; carries its message. */
export class SyscallBatchRefusedError extends Error {
  constructor(public readonly failure: string) {
    super(`the vma-manager refused the syscall: ${failure}`);
    this.name = 'SyscallBatchRefusedError';
  }
}
