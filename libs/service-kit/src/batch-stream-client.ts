import type { CallOptions, ClientDuplexStream } from '@grpc/grpc-js';

/** What every batch stream's answer carries (StreamSyscalls, StreamAccesses, StreamTransferPhys ...). */
export interface BatchAnswer {
  readonly batchId: bigint;
  /** Set when the service refused the batch as a whole (nothing of it was done). */
  readonly failure: string;
}

export interface BatchStreamClientOptions {
  /**
   * A stream is a call, and every call has a deadline (a pooled client gives 10 s to one that sets
   * none): a stream kept busy longer would fail. So it is replaced once this old, after what it
   * has in flight is answered.
   */
  readonly maxAgeMs?: number;
  /** How long a stream with nothing in flight stays open: it must not hold a service's shutdown open. */
  readonly idleCloseMs?: number;
  readonly now?: () => number;
}

const DEFAULT_MAX_AGE_MS = 20_000;
const DEFAULT_IDLE_CLOSE_MS = 250;
/** A stream's own deadline runs this much past its age limit, for the batches sent just before it. */
const DEADLINE_SLACK_MS = 30_000;

/** Thrown (as a rejection) when the service refused a batch; `failure` is its message. */
export class BatchRefusedError extends Error {
  constructor(
    readonly what: string,
    readonly failure: string,
  ) {
    super(`${what} refused a batch: ${failure}`);
    this.name = 'BatchRefusedError';
  }
}

interface Pending<Res> {
  readonly batchId: bigint;
  resolve(res: Res): void;
  reject(err: Error): void;
}

/**
 * The client side of a bidi stream of batches (the server side is serveBatchStream): opened on
 * first use, batches written in call order and answered in that order, so that consecutive
 * batches pipeline across the boundary without waiting for each other. A refused batch rejects
 * its promise with BatchRefusedError and the stream goes on; a broken stream fails the batches in
 * flight and the next batch opens a new one. An old stream is replaced only once drained, so no
 * batch overtakes one sent before it.
 */
export class BatchStreamClient<Req, Res extends BatchAnswer> {
  private stream: ClientDuplexStream<Req, Res> | null = null;
  private openedAt = 0;
  private readonly pending: Pending<Res>[] = [];
  private nextId = 1n;
  private idleTimer: NodeJS.Timeout | null = null;
  private drained: (() => void)[] = [];
  private readonly maxAgeMs: number;
  private readonly idleCloseMs: number;
  private readonly now: () => number;

  /** `what` names the stream in errors ("vma-manager syscalls"). */
  constructor(
    private readonly what: string,
    private readonly openStream: (options: Partial<CallOptions>) => ClientDuplexStream<Req, Res>,
    options: BatchStreamClientOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.idleCloseMs = options.idleCloseMs ?? DEFAULT_IDLE_CLOSE_MS;
    this.now = options.now ?? Date.now;
  }

  /** Batches written and not answered yet. */
  get inFlight(): number {
    return this.pending.length;
  }

  /** Sends one batch (built by `fill` around its id) and resolves with its answer. */
  async send(fill: (batchId: bigint) => Req): Promise<Res> {
    // Several callers may wait here for the old stream to drain; the first to find it drained
    // rotates, and the others then find the new stream young.
    while (this.stream && this.now() - this.openedAt > this.maxAgeMs) {
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

  /** Ends the stream (call it when drained; a later send opens a new one). */
  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.stream?.end();
    this.stream = null;
  }

  private open(): ClientDuplexStream<Req, Res> {
    if (this.stream) return this.stream;
    this.openedAt = this.now();
    const stream = this.openStream({ deadline: Date.now() + this.maxAgeMs + DEADLINE_SLACK_MS });
    stream.on('data', (res: Res) => {
      const head = this.pending.shift();
      if (head) {
        if (res.batchId !== head.batchId)
          head.reject(
            new Error(`${this.what}: batch ${res.batchId} answered where ${head.batchId} was expected`),
          );
        else if (res.failure) head.reject(new BatchRefusedError(this.what, res.failure));
        else head.resolve(res);
      }
      if (this.pending.length === 0) {
        for (const d of this.drained.splice(0)) d();
        if (this.stream === stream) this.armIdleClose(stream);
      }
    });
    const fail = (err: Error) => {
      // A stream this side closed had nothing in flight: the batches pending now are its successor's.
      if (this.stream !== stream) return;
      this.stream = null;
      for (const p of this.pending.splice(0)) p.reject(err);
      for (const d of this.drained.splice(0)) d();
    };
    stream.on('error', fail);
    stream.on('end', () => fail(new Error(`${this.what}: the service closed the stream`)));
    // The status of a stream this side ended says nothing new; errors arrive on 'error'.
    stream.on('status', () => undefined);
    this.stream = stream;
    return stream;
  }

  private armIdleClose(stream: ClientDuplexStream<Req, Res>): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.pending.length === 0 && this.stream === stream) this.close();
    }, this.idleCloseMs);
    this.idleTimer.unref();
  }
}
