/**
 * The report of one run, plain JSON-serialisable data: what `--json` prints and what the
 * Markdown and SVG renderers draw. Wall-clock figures (latencies, duration) are the only values
 * that differ between two runs of the same workload and seed.
 */
import type { BoundaryFigures, PhysMemoryMap, TlbCounters } from '../ports';
import type { MachineSpec } from '../workload/model';

export interface ExpectationResult {
  /** Where the expectation (or the op it belongs to) was written. */
  readonly at: string;
  readonly what: string;
  readonly ok: boolean;
  /** What was seen, when it differs (or a short confirmation). */
  readonly detail: string;
}

export interface SignalEvent {
  readonly signal: 'SIGSEGV' | 'SIGBUS';
  readonly code: string;
  /** The fault address as `0x7e0000001000`; null for #GP. */
  readonly address: string | null;
  readonly at: string;
  /** True when the workload expected it (the process went on). */
  readonly expected: boolean;
}

export interface SyscallSummary {
  readonly call: string;
  readonly calls: number;
  /** Failures by errno name. */
  readonly errors: Readonly<Record<string, number>>;
}

export interface SyscallLogEntry {
  readonly at: string;
  /** `mmap(0x7e0000000000, 16384, rw-, 0x100022, -1, 0)` */
  readonly call: string;
  /** `= 0x7e0000000000`, `= 0`, `= -1 EIO` */
  readonly result: string;
}

export interface VmaRow {
  readonly start: string;
  readonly end: string;
  readonly perms: string;
  readonly name: string;
}

export interface ProcessReport {
  readonly name: string;
  readonly pid: number;
  readonly parent: string | null;
  /** `exited 0`, `killed by SIGSEGV (SEGV_MAPERR at 0x...)`, `never finished (blocked on ...)` */
  readonly exit: string;
  readonly syscalls: readonly SyscallSummary[];
  /** The first syscalls in order (capped), for a person to read. */
  readonly log: readonly SyscallLogEntry[];
  readonly logTruncated: number;
  readonly accesses: number;
  readonly faults: {
    readonly total: number;
    /** What the handler says it did (`anon`, `zero-page`, `cow`, ...). */
    readonly byType: Readonly<Record<string, number>>;
    /** What the CPU saw, from the error code (`read, not present`, `write, protection`, ...). */
    readonly byCause: Readonly<Record<string, number>>;
  };
  readonly signals: readonly SignalEvent[];
  readonly expectations: readonly ExpectationResult[];
  /** Lines the process printed (mmap-test style output of byte checks and deltas). */
  readonly output: readonly string[];
  /** The largest VMA layout seen: at a maps read (`vmasAt` = its op) or at exit ('exit'). */
  readonly vmas: readonly VmaRow[];
  readonly vmasAt: string;
}

export interface ProcSnapshot {
  readonly label: string;
  readonly buddyinfo: string;
  readonly meminfo: string;
}

/** Free blocks per order per zone at one moment (a sample of /proc/buddyinfo). */
export interface BuddySample {
  readonly label: string;
  /** Engine rounds (scheduler steps) since boot. */
  readonly round: number;
  readonly zones: readonly { readonly zone: string; readonly free: readonly number[] }[];
}

export interface RunReport {
  readonly workload: {
    readonly name: string;
    readonly description: string;
    readonly source: string;
    readonly seed: number;
  };
  readonly machine: MachineSpec;
  readonly transport: string;
  /** Every expectation held and no process died unexpectedly. */
  readonly ok: boolean;
  readonly failures: readonly ExpectationResult[];
  /** The workload's checks of the machine after the run. */
  readonly final: readonly ExpectationResult[];
  readonly processes: readonly ProcessReport[];
  readonly before: ProcSnapshot;
  readonly after: ProcSnapshot;
  readonly pageTablePages: { readonly before: number; readonly after: number; readonly peak: number };
  readonly tlb: readonly (TlbCounters & { readonly hitRate: number })[];
  readonly allocations: {
    /** Allocations by order (empty when the allocator does not count them). */
    readonly byOrder: readonly number[];
    /** Pages allocated by zone (pgalloc_*). */
    readonly pagesByZone: Readonly<Record<string, number>>;
  };
  readonly buddySeries: readonly BuddySample[];
  /** The physical memory at the sample with the fewest free pages, and at the end. */
  readonly memoryMap: {
    readonly peak: PhysMemoryMap & { readonly label: string };
    readonly end: PhysMemoryMap;
  };
  readonly boundaries: readonly BoundaryFigures[];
  readonly totals: {
    readonly rounds: number;
    readonly syscalls: number;
    readonly accesses: number;
    readonly faults: number;
    readonly cr3Switches: number;
    readonly durationMs: number;
  };
}
