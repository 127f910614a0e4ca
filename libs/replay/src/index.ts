/**
 * @pagemesh/replay: the orchestrator's engine. Loads workloads (YAML/JSON against
 * workload.schema.json, or oracle `.ops` scripts), replays them on simulated CPUs over the
 * service ports in ports.ts, checks their expectations, and reports (JSON data, Markdown, SVG).
 * No gRPC: a transport is a {@link Stack} of port implementations.
 */

// Workloads
export type {
  Workload,
  MachineSpec,
  ProcessSpec,
  Op,
  OpName,
  Addr,
  U64,
  Expectation,
  SyscallExpect,
  AccessExpect,
  TextExpect,
} from './workload/model';
export { loadWorkloadText, loadWorkloadData, formatPath } from './workload/load-workload';
export { loadOpsText } from './workload/load-ops';
export { loadWorkloadFile } from './workload/load';
export { DEFAULT_MACHINE, DEFAULT_SEED } from './workload/build-workload';
export { WorkloadError, formatProblem } from './workload/errors';
export type { WorkloadProblem } from './workload/errors';
export { parseSize, parseU64, parseAddr, parseProt } from './workload/values';
export { default as workloadSchema } from './workload/workload.schema.json';

// Built-in workloads
export { BUILTIN_WORKLOADS, builtinWorkload, listBuiltinWorkloads } from './builtin';
export type { BuiltinWorkload } from './builtin';

// Ports to the services
export type {
  Stack,
  StackFactory,
  VmaManagerPort,
  MmuPort,
  PageAllocatorPort,
  DeviceDriversPort,
  ProcessHandle,
  Syscall,
  SyscallName,
  SyscallResult,
  FaultRequest,
  FaultOutcome,
  SegvCode,
  PagemapEntry,
  UserAccess,
  AccessBatchResult,
  TlbCounters,
  FrameState,
  ZoneSpan,
  PhysMemoryMap,
  FrameInfo,
  AllocatorCounters,
  BoundaryFigures,
} from './ports';

// The orchestrator's syscalls in the process table's words (every transport's mapping)
export { toProcessCall } from './process-call';

// The engine
export { runWorkload } from './engine/engine';
export { formatCall } from './engine/syscalls';
export { replayWorkload } from './engine/replay';
export type { RunOptions } from './engine/engine';
export { BoundaryRecorder, percentile } from './engine/recorder';
export { generatePattern } from './engine/patterns';
export type { PatternSpec, GeneratedAccesses } from './engine/patterns';
export { Prng, deriveSeed } from './engine/prng';
export { parseBuddyinfo, parseFields, parseMaps } from './engine/proc-text';

// Reports
export type {
  RunReport,
  ProcessReport,
  ExpectationResult,
  SignalEvent,
  BuddySample,
  ProcSnapshot,
  VmaRow,
} from './report/model';
export { renderReport } from './report/render';
export { comparableReport } from './report/comparable';
export type { RenderedReport } from './report/render';
export { renderMarkdown, table } from './report/markdown';
export type { PictureLinks } from './report/markdown';
export { markdownToHtml } from './report/html';
export { memoryMapSvg } from './report/svg-memory-map';
export { buddySeriesSvg } from './report/svg-buddy';
export { vmaLayoutSvg } from './report/svg-vmas';

// Progress
export { ProgressBar, formatDuration } from './progress';
export type { ProgressStream, ProgressOptions } from './progress';

// The inproc transport and its ports
export { inprocMmuPort } from './inproc/mmu-port';
export { inprocPageAllocatorView } from './inproc/page-allocator-port';
export { inprocDeviceDriversPort } from './inproc/device-drivers-port';
export { inprocVmaManagerPort } from './inproc/vma-manager-port';
export { bootInprocStack } from './inproc-stack';
