import type { ForkOp, Op, SignalName } from '../workload/model';
import type { ExpectationResult, SignalEvent, SyscallLogEntry } from '../report/model';
import type { MapsLine } from './proc-text';

/** One level of a process's program: its op list, or the body of a `repeat` being run. */
export interface Frame {
  readonly ops: readonly Op[];
  index: number;
  /** Iterations left after the current one (repeat bodies). */
  left: number;
}

/** An access op in progress: the addresses left to do, and what happened so far. */
export interface AccessCursor {
  readonly op: Op;
  readonly vas: Float64Array;
  /** 1 = write, per access; null when every access has the same kind. */
  readonly writes: Uint8Array | null;
  readonly kind: 'read' | 'write' | 'fetch';
  /** Bytes read per access (reads and fetches). */
  readonly length: number;
  /** What a write stores. */
  readonly data: Uint8Array;
  next: number;
  /** Faults handled while this op ran. */
  faults: number;
  /** The last fault handled, to see the same access fault again for the same reason. */
  lastFault: { index: number; address: number; errorCode: number; count: number } | null;
  /** Data of each read, kept only when a check needs it. */
  readonly reads: (Uint8Array | undefined)[] | null;
  signal: { name: SignalName; code: string; address: number | null; index: number } | null;
}

export type TaskState = 'ready' | 'blocked' | 'done';

/** A simulated process: its program counter over the workload's ops and what it has done. */
export class Task {
  state: TaskState = 'ready';
  blockedOn: { readonly child: string } | { readonly event: string } | null = null;
  readonly frames: Frame[];
  cursor: AccessCursor | null = null;
  /** Exit code, or the signal that killed it; null while it runs. */
  exitStatus: number | SignalName | null = null;
  exitDetail = '';
  readonly children = new Map<string, Task>();
  readonly fds: Map<string, number>;
  /** Times each pattern op ran, for per-invocation seeds. */
  readonly patternRuns = new Map<string, number>();

  // what the report shows
  readonly syscallCounts = new Map<string, { calls: number; errors: Map<string, number> }>();
  readonly log: SyscallLogEntry[] = [];
  logDropped = 0;
  accesses = 0;
  faults = 0;
  readonly faultTypes = new Map<string, number>();
  /** Handled faults by what the CPU saw: `write, not present`, `write, protection`, ... */
  readonly faultCauses = new Map<string, number>();
  readonly signals: SignalEvent[] = [];
  readonly expectations: ExpectationResult[] = [];
  readonly output: string[] = [];
  /** The largest VMA layout seen (each maps read and the one at exit). */
  vmas: MapsLine[] = [];
  vmasAt = '';

  noteMaps(lines: MapsLine[], at: string): void {
    if (lines.length > this.vmas.length || this.vmas.length === 0) {
      this.vmas = lines;
      this.vmasAt = at;
    }
  }

  constructor(
    readonly name: string,
    readonly pid: number,
    readonly asid: number,
    ops: readonly Op[],
    readonly parent: Task | null,
    fds: ReadonlyMap<string, number> = new Map(),
  ) {
    this.frames = [{ ops, index: 0, left: 0 }];
    this.fds = new Map(fds);
  }

  /** The op the program counter is on, entering repeat bodies; null at the end of the program. */
  current(): Op | null {
    for (;;) {
      const frame = this.frames[this.frames.length - 1];
      if (!frame) return null;
      if (frame.index < frame.ops.length) {
        const op = frame.ops[frame.index];
        if (op.op !== 'repeat') return op;
        frame.index++;
        if (op.times > 0 && op.ops.length > 0)
          this.frames.push({ ops: op.ops, index: 0, left: op.times - 1 });
        continue;
      }
      if (frame.left > 0 && this.frames.length > 1) {
        frame.left--;
        frame.index = 0;
        continue;
      }
      this.frames.pop();
    }
  }

  advance(): void {
    this.frames[this.frames.length - 1].index++;
  }

  /** The next op after the current one in the same list, if any (for batching syscalls). */
  peekAfter(count: number): Op | null {
    const frame = this.frames[this.frames.length - 1];
    return frame.ops[frame.index + count] ?? null;
  }

  forkOp(): ForkOp | null {
    const op = this.current();
    return op && op.op === 'fork' ? op : null;
  }
}
