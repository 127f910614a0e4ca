import type { ClientDuplexStream } from '@grpc/grpc-js';
import {
  StreamSyscallsRequest,
  type StreamSyscallsResponse,
  type Syscall as WireSyscall,
  type VmaManagerServiceClient,
} from '@pagemesh/proto';

/**
 * A stream is a call, and every call has a deadline (the pool gives 10 s to one that sets none):
 * the stream gets its own, and is replaced once this old, between two batches.
 */
const MAX_STREAM_AGE_MS = 20_000;
const STREAM_DEADLINE_MS = MAX_STREAM_AGE_MS + 30_000;

/**
 * The conformance runner's StreamSyscalls: one batch in flight at a time (a script waits for each
 * syscall's answer before its next op), so an answer is always the one awaited.
 */
export class SyscallStream {
  private stream: ClientDuplexStream<StreamSyscallsRequest, StreamSyscallsResponse> | null = null;
  private openedAt = 0;
  private nextId = 1n;
  private waiting: { resolve(r: StreamSyscallsResponse): void; reject(e: Error): void } | null = null;

  constructor(private readonly client: VmaManagerServiceClient) {}

  /** Sends the calls as one batch; rejects when the service refuses it (`failure`) or the stream breaks. */
  async send(calls: WireSyscall[]): Promise<StreamSyscallsResponse> {
    if (this.waiting) throw new Error('StreamSyscalls: a batch is already in flight');
    if (this.stream && Date.now() - this.openedAt > MAX_STREAM_AGE_MS) this.close();
    const stream = this.open();
    const batchId = this.nextId++;
    const res = await new Promise<StreamSyscallsResponse>((resolve, reject) => {
      this.waiting = { resolve, reject };
      stream.write(StreamSyscallsRequest.fromPartial({ batchId, calls }));
    });
    if (res.batchId !== batchId)
      throw new Error(`StreamSyscalls: batch ${res.batchId} answered where ${batchId} was expected`);
    if (res.failure) throw new SyscallBatchRefusedError(res.failure);
    return res;
  }

  close(): void {
    this.stream?.end();
    this.stream = null;
  }

  private open(): ClientDuplexStream<StreamSyscallsRequest, StreamSyscallsResponse> {
    if (this.stream) return this.stream;
    this.openedAt = Date.now();
    const stream = this.client.streamSyscalls({ deadline: this.openedAt + STREAM_DEADLINE_MS });
    const settle = (fn: (w: NonNullable<SyscallStream['waiting']>) => void) => {
      const w = this.waiting;
      this.waiting = null;
      if (w) fn(w);
    };
    // A stream this side ended (rotated or closed) had nothing in flight: what it says now is
    // not about the batch awaited, which belongs to its successor.
    stream.on('data', (res: StreamSyscallsResponse) => {
      if (this.stream === stream) settle((w) => w.resolve(res));
    });
    const fail = (err: Error) => {
      if (this.stream !== stream) return;
      this.stream = null;
      settle((w) => w.reject(err));
    };
    stream.on('error', fail);
    stream.on('end', () => fail(new Error('StreamSyscalls: the service closed the stream')));
    stream.on('status', () => undefined);
    this.stream = stream;
    return stream;
  }
}

/** Thrown when the vma-manager refuses a syscall batch as a whole; carries its message. */
export class SyscallBatchRefusedError extends Error {
  constructor(public readonly failure: string) {
    super(`the vma-manager refused the syscall: ${failure}`);
    this.name = 'SyscallBatchRefusedError';
  }
}
