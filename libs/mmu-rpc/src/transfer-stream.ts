import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { PhysOp } from '@pagemesh/mmu';
import type {
  PageAllocatorServiceClient,
  StreamTransferPhysRequest,
  StreamTransferPhysResponse,
} from '@pagemesh/proto';

/** How long a stream with nothing in flight stays open. */
const IDLE_CLOSE_MS = 250;
/**
 * A stream is a call, and every call has a deadline (a pooled client gives 10 s to a call that
 * sets none): a stream kept busy longer than that would fail. So a stream gets its own deadline,
 * and is replaced once it is MAX_STREAM_AGE_MS old, when what it has in flight is answered.
 */
const MAX_STREAM_AGE_MS = 20_000;
const STREAM_DEADLINE_MS = MAX_STREAM_AGE_MS + 30_000;

interface Pending {
  readonly batchId: bigint;
  resolve(data: Uint8Array[]): void;
  reject(err: Error): void;
}

/**
 * The mmu's data path to RAM: one StreamTransferPhys stream to the page allocator, opened on
 * first use. Batches go out in call order and are answered in that order, so reads and writes
 * of consecutive access batches keep their order without waiting for each other: the stream is
 * what lets access batches pipeline across the boundary. A broken stream fails the batches in
 * flight; the next call opens a new one. An idle stream is closed after IDLE_CLOSE_MS, so that
 * it never holds the page allocator's graceful shutdown open.
 */
export class TransferStream {
  private stream: ClientDuplexStream<StreamTransferPhysRequest, StreamTransferPhysResponse> | null = null;
  private readonly pending: Pending[] = [];
  private nextId = 1n;
  private idleTimer: NodeJS.Timeout | null = null;
  private openedAt = 0;
  private drained: (() => void)[] = [];

  constructor(private readonly client: PageAllocatorServiceClient) {}

  async transfer(ops: readonly PhysOp[]): Promise<Uint8Array[]> {
    // An old stream is replaced once drained: no batch goes to the new one before the old one has
    // answered all of its own (callers waiting here resume in call order).
    while (this.stream && Date.now() - this.openedAt > MAX_STREAM_AGE_MS) {
      if (this.pending.length > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
      else this.close();
    }
    const stream = this.open();
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    const batchId = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.push({ batchId, resolve, reject });
      stream.write({
        batchId,
        ops: ops.map((o) =>
          o.op === 'read'
            ? { op: { $case: 'read' as const, value: { paddr: BigInt(o.paddr), length: o.length } } }
            : {
                op: {
                  $case: 'write' as const,
                  value: {
                    paddr: BigInt(o.paddr),
                    data: Buffer.from(o.bytes.buffer, o.bytes.byteOffset, o.bytes.byteLength),
                  },
                },
              },
        ),
      });
    });
  }

  close(): void {
    this.stream?.end();
    this.stream = null;
  }

  private open(): ClientDuplexStream<StreamTransferPhysRequest, StreamTransferPhysResponse> {
    if (this.stream) return this.stream;
    this.openedAt = Date.now();
    const stream = this.client.streamTransferPhys({ deadline: this.openedAt + STREAM_DEADLINE_MS });
    stream.on('data', (res: StreamTransferPhysResponse) => {
      const head = this.pending.shift();
      if (!head) return;
      if (res.batchId !== head.batchId) {
        head.reject(
          new Error(`page allocator answered batch ${res.batchId} where ${head.batchId} was expected`),
        );
      } else if (res.failure) {
        head.reject(new Error(`page allocator refused a transfer: ${res.failure}`));
      } else {
        head.resolve(res.data);
      }
      if (this.pending.length === 0) for (const d of this.drained.splice(0)) d();
      if (this.pending.length === 0 && this.stream === stream) {
        this.idleTimer = setTimeout(() => {
          this.idleTimer = null;
          if (this.pending.length === 0 && this.stream === stream) this.close();
        }, IDLE_CLOSE_MS);
        this.idleTimer.unref();
      }
    });
    const fail = (err: Error) => {
      // a stream this side closed had nothing in flight: what is pending now is its successor's
      if (this.stream !== stream) return;
      this.stream = null;
      for (const p of this.pending.splice(0)) p.reject(err);
      for (const d of this.drained.splice(0)) d();
    };
    stream.on('error', fail);
    stream.on('end', () => fail(new Error('the page allocator closed the transfer stream')));
    // Nothing to do with the status of a stream this side ended; errors are handled above.
    stream.on('status', () => undefined);
    this.stream = stream;
    return stream;
  }
}
