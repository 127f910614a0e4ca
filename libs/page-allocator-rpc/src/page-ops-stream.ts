import type { ClientDuplexStream } from '@grpc/grpc-js';
import type {
  PageAllocatorServiceClient,
  PageOp,
  PageOpResult,
  StreamPageOpsRequest,
  StreamPageOpsResponse,
} from '@pagemesh/proto';
import { DomainError } from '@pagemesh/service-kit';

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
  resolve(results: PageOpResult[]): void;
  reject(err: Error): void;
}

/**
 * Page operations (allocations, frees, reference changes) of one client on one StreamPageOps
 * stream, opened on first use: a batch is a message on a stream that is already open, where a
 * unary call is a new HTTP/2 stream with its headers and trailers, and the page allocator's
 * hottest callers (the fault path, page-table allocation) make one for every few hundred pages.
 * Batches are answered in order. A refused op fails its batch with a DomainError naming it (the
 * ops before it took effect, as StreamPageOps says); a broken stream fails the batches in flight
 * and the next batch opens a new one. An idle stream is closed after IDLE_CLOSE_MS, so that it
 * never holds the page allocator's graceful shutdown open.
 */
export class PageOpsStream {
  private stream: ClientDuplexStream<StreamPageOpsRequest, StreamPageOpsResponse> | null = null;
  private readonly pending: Pending[] = [];
  private nextId = 1n;
  private idleTimer: NodeJS.Timeout | null = null;
  private openedAt = 0;
  private drained: (() => void)[] = [];

  constructor(private readonly client: PageAllocatorServiceClient) {}

  /** Runs `ops` in order as one batch; their results, in order. */
  async run(ops: PageOp[]): Promise<PageOpResult[]> {
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
      stream.write({ batchId, ops });
    });
  }

  close(): void {
    this.stream?.end();
    this.stream = null;
  }

  private open(): ClientDuplexStream<StreamPageOpsRequest, StreamPageOpsResponse> {
    if (this.stream) return this.stream;
    this.openedAt = Date.now();
    const stream = this.client.streamPageOps({ deadline: this.openedAt + STREAM_DEADLINE_MS });
    stream.on('data', (res: StreamPageOpsResponse) => {
      const head = this.pending.shift();
      if (!head) return;
      if (res.batchId !== head.batchId) {
        head.reject(
          new Error(`page allocator answered batch ${res.batchId} where ${head.batchId} was expected`),
        );
      } else if (res.failure) {
        const field = `ops[${res.failedOpIndex}]`;
        head.reject(
          new DomainError('failed-precondition', `page allocator refused ${field}: ${res.failure}`, {
            field,
          }),
        );
      } else {
        head.resolve(res.results);
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
    stream.on('end', () => fail(new Error('the page allocator closed the page-ops stream')));
    // Nothing to do with the status of a stream this side ended; errors are handled above.
    stream.on('status', () => undefined);
    this.stream = stream;
    return stream;
  }
}
