import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { PhysOp } from '@pagemesh/mmu';
import type {
  PageAllocatorServiceClient,
  StreamTransferPhysRequest,
  StreamTransferPhysResponse,
} from '@pagemesh/proto';

/** How long a stream with nothing in flight stays open. */
const IDLE_CLOSE_MS = 250;

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

  constructor(private readonly client: PageAllocatorServiceClient) {}

  transfer(ops: readonly PhysOp[]): Promise<Uint8Array[]> {
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
    const stream = this.client.streamTransferPhys();
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
      if (this.pending.length === 0 && this.stream === stream) {
        this.idleTimer = setTimeout(() => {
          this.idleTimer = null;
          if (this.pending.length === 0 && this.stream === stream) this.close();
        }, IDLE_CLOSE_MS);
        this.idleTimer.unref();
      }
    });
    const fail = (err: Error) => {
      if (this.stream === stream) this.stream = null;
      for (const p of this.pending.splice(0)) p.reject(err);
    };
    stream.on('error', fail);
    stream.on('end', () => fail(new Error('the page allocator closed the transfer stream')));
    // Nothing to do with the status of a stream this side ended; errors are handled above.
    stream.on('status', () => undefined);
    this.stream = stream;
    return stream;
  }
}
