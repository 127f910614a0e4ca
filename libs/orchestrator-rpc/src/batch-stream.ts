import type { CallOptions, ClientDuplexStream } from '@grpc/grpc-js';

/** How long a stream with nothing in flight stays open (it must not hold a service's shutdown open). */
const IDLE_CLOSE_MS = 250;
/**
 * A stream is replaced once it is this old, when what it has in flight is answered: a stream is
 * a call, and every call has a deadline (the pooled clients give 10 s to a call that sets none).
 */
const MAX_STREAM_AGE_MS = 20_000;
/** A stream's own deadline: its age limit, plus time for the batches sent just before it. */
const STREAM_DEADLINE_MS = MAX_STREAM_AGE_MS + 30_000;

interface Pending<Res> {
  readonly batchId: bigint;
  resolve(res: Res): void;
  reject(err: Error): void;
}

/** What a batch stream's answers have in common (StreamSyscalls, StreamAccesses). */
export interface BatchAnswer {
  readonly batchId: bigint;
  readonly failure: string;
}

/**
 * The client side of a bidi stream of batches: opened on first use, batches written in call order
 * and answered in that order. A refused batch (`failure`) rejects its promise; a broken stream
 * fails the batches in flight and the next batch opens a new one. Ordering across the rotation of
 * an old stream is kept by waiting until the old one has answered everything.
 */
export class BatchStream<Req, Res extends BatchAnswer> {
  private stream: ClientDuplexStream<Req, Res> | null = null;
  private openedAt = 0;
  private readonly pending: Pending<Res>[] = [];
  private nextId = 1n;
  private idleTimer: NodeJS.Timeout | null = null;
  private drained: (() => void)[] = [];

  constructor(
    private readonly what: string,
    private readonly openStream: (options: Partial<CallOptions>) => ClientDuplexStream<Req, Res>,
  ) {}

  /** Sends one batch (built by `fill` around its id) and resolves with its answer. */
  async send(fill: (batchId: bigint) => Req): Promise<Res> {
    // Rotation keeps order: no batch goes to the new stream before the old one has answered all
    // of its own (several callers may wait here; the first to find it drained rotates).
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
    return new Promise<Res>((resolve, reject) => {
      this.pending.push({ batchId, resolve, reject });
      stream.write(fill(batchId));
    });
  }

  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.stream?.end();
    this.stream = null;
  }

  private open(): ClientDuplexStream<Req, Res> {
    if (this.stream) return this.stream;
    this.openedAt = Date.now();
    const stream = this.openStream({ deadline: this.openedAt + STREAM_DEADLINE_MS });
    stream.on('data', (res: Res) => {
      const head = this.pending.shift();
      if (head) {
        if (res.batchId !== head.batchId)
          head.reject(
            new Error(`${this.what}: batch ${res.batchId} answered where ${head.batchId} was expected`),
          );
        else if (res.failure) head.reject(new Error(`${this.what} refused a batch: ${res.failure}`));
        else head.resolve(res);
      }
      if (this.pending.length === 0) {
        for (const d of this.drained.splice(0)) d();
        if (this.stream === stream) {
          this.idleTimer = setTimeout(() => {
            this.idleTimer = null;
            if (this.pending.length === 0 && this.stream === stream) this.close();
          }, IDLE_CLOSE_MS);
          this.idleTimer.unref();
        }
      }
    });
    const fail = (err: Error) => {
      // a stream this side closed has nothing in flight (it is closed only when drained): the
      // batches pending now belong to its successor
      if (this.stream !== stream) return;
      this.stream = null;
      for (const p of this.pending.splice(0)) p.reject(err);
      for (const d of this.drained.splice(0)) d();
    };
    stream.on('error', fail);
    stream.on('end', () => fail(new Error(`${this.what}: the service closed the stream`)));
    stream.on('status', () => undefined);
    this.stream = stream;
    return stream;
  }
}
