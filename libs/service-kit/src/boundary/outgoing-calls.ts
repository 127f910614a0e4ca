import { splitMethodPath } from '../grpc-metrics';
import { LatencyHistogram } from './latency-histogram';

/**
 * The process-wide registry of outgoing calls: per calling service, per callee and RPC method,
 * how many calls, what they carried and how long they took. Every client the kit's ClientPool
 * makes records here (see outgoing-call-interceptor.ts), and every service serves its own rows
 * on BoundaryService.GetBoundaryFigures: what the orchestrator's report shows as the boundaries
 * below it (vma-manager→mmu, mmu→page-allocator, ...).
 */

/** What crossed one boundary in one RPC method, since the caller started. */
export interface OutgoingCallFigures {
  /** `vma-manager` */
  readonly caller: string;
  /** `mmu` */
  readonly callee: string;
  /** `MapPages` */
  readonly method: string;
  readonly calls: number;
  readonly items: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly latency: LatencyHistogram;
}

/** One method's counters: a call costs two additions and one histogram increment. */
export class MethodFigures {
  calls = 0;
  items = 0;
  readonly latency = new LatencyHistogram();

  constructor(
    readonly callee: string,
    readonly method: string,
  ) {}

  record(items: number, ms: number): void {
    this.calls++;
    this.items += items;
    this.latency.record(ms);
  }
}

/** The outgoing calls of one caller, by method path (`/pagemesh.v1.MmuService/MapPages`). */
export class CallerFigures {
  private readonly byPath = new Map<string, MethodFigures>();

  constructor(readonly caller: string) {}

  /** The counters of one method, created on its first call. */
  method(path: string): MethodFigures {
    let m = this.byPath.get(path);
    if (!m) {
      const [service, method] = splitMethodPath(path);
      m = new MethodFigures(calleeName(service), method);
      this.byPath.set(path, m);
    }
    return m;
  }

  /** Rows of the methods called at least once, sorted by callee then method. */
  figures(): OutgoingCallFigures[] {
    return [...this.byPath.values()]
      .filter((m) => m.calls > 0)
      .map((m) => ({
        caller: this.caller,
        callee: m.callee,
        method: m.method,
        calls: m.calls,
        items: m.items,
        p50Ms: m.latency.percentile(50),
        p99Ms: m.latency.percentile(99),
        // a copy: the row is a snapshot, the counters go on
        latency: LatencyHistogram.fromBuckets(m.latency.buckets()),
      }))
      .sort((a, b) => a.callee.localeCompare(b.callee) || a.method.localeCompare(b.method));
  }
}

const callers = new Map<string, CallerFigures>();
/** Outgoing calls of a pool that names no caller, in a process that runs no service (tests, the CLI). */
export const ANONYMOUS_CALLER = '';
let processCaller = ANONYMOUS_CALLER;

/** The registry's table of one caller, created on first use. */
export function outgoingCallsOf(caller: string): CallerFigures {
  let c = callers.get(caller);
  if (!c) callers.set(caller, (c = new CallerFigures(caller)));
  return c;
}

/**
 * The caller a ClientPool records as when it is given none: the service this process runs
 * (runServiceMain sets it before the service builds its clients). Several services in one
 * process (tests) name their pools' callers themselves.
 */
export function setProcessCaller(name: string): void {
  processCaller = name;
}

export function defaultCaller(): string {
  return processCaller;
}

/**
 * The callee's name from its gRPC service: `pagemesh.v1.MmuService` → `mmu`,
 * `pagemesh.v1.PageAllocatorService` → `page-allocator` (the names the services go by).
 */
export function calleeName(grpcService: string): string {
  const last = grpcService.slice(grpcService.lastIndexOf('.') + 1);
  return last
    .replace(/Service$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}

/**
 * What one request carries: the length of its first repeated field (faults of a HandleFaults,
 * ops of a StreamPageOps batch, ranges of an UnmapRanges), else 1. ts-proto messages hold their
 * fields in declaration order, so "first" is the proto's first; bytes fields are Buffers, not
 * arrays, and do not count. The replay's in-process recorder counts a port call's first array
 * argument the same way.
 */
export function itemsOf(request: unknown): number {
  if (typeof request !== 'object' || request === null) return 1;
  for (const key in request) {
    const value = (request as Record<string, unknown>)[key];
    if (Array.isArray(value)) return value.length;
  }
  return 1;
}
