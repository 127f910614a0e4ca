/**
 * @pagemesh/vma-manager: processes' address spaces (mm_struct, VMAs) and the memory syscalls,
 * with Linux 6.18's results and errnos. Pure TypeScript; page tables and pages are reached
 * through the ports in ports.ts.
 */

// The model
export { Machine, ORACLE_MACHINE, DEFAULT_MAX_MAP_COUNT, DEFAULT_STACK_GUARD_GAP_PAGES } from './machine';
export type { MachineConfig } from './machine';
export { MmStruct, TASK_SIZE, DEFAULT_MMAP_BASE } from './mm-struct';
export type { PageTableOp } from './mm-struct';
export { Vma, AnonVma } from './vma';
export type { VmFile } from './vma';
export { VmaTree } from './vma-tree';
export * as vmFlags from './vm-flags';
export * as mman from './mman';
export type { SyscallResult } from './mman';
export type { U64 } from './u64';
export { VmaDomainError, PageStateUnavailableError } from './errors';
export type { DomainErrorKind } from './errors';

// Syscalls
export { mmap } from './mmap';
export type { MmapFile } from './mmap';
export { munmap } from './munmap';
export { mprotect } from './mprotect';
export { mremap } from './mremap';
export { madvise } from './madvise';
export { mlock, munlock } from './mlock';
export { mseal } from './mseal';
export { getUnmappedArea } from './get-unmapped-area';
export { vmEnoughMemory } from './overcommit';

// /proc
export { procMaps, procMapsLines, formatMapsLine } from './proc-maps';
export { procSmaps, procStatusMemory, formatSmaps, smapsEntry, NO_PAGES } from './proc-smaps';
export type { SmapsEntry, SmapsPageStats, SmapsPageSource } from './proc-smaps';

// Ports to the layers below, and an address space whose page tables follow its VMAs
export type {
  MmuPort,
  PageAllocatorPort,
  HugePmdToMap,
  MappedPage,
  PagemapEntry,
  VaRange,
  ProtectionChange,
  DeviceFilesPort,
  DeviceFileInfo,
  DeviceVma,
  DeviceMmapResult,
  ProcCaller,
} from './ports';
export { FMODE_READ, FMODE_WRITE } from './ports';
export { MmProcess } from './process';
export type { MmPorts } from './process';
export { checkMmInvariants, wouldMerge } from './vma-invariants';

// Conformance with the kernel oracle
export {
  runConformance,
  formatConformanceReport,
  runScript,
  parseOps,
  OpsParseError,
  compareJsonl,
  ScriptRefusedError,
  UnsupportedOpError,
  NOTHING_RESIDENT,
  parseProcMaps,
  parseProcSmaps,
  ProcTextError,
} from './conformance';
export type {
  ConformanceCase,
  ConformanceReport,
  ConformanceOptions,
  Difference,
  Tier,
  Target,
  Residency,
  TouchResult,
  MapsLine,
  SmapsFigures,
} from './conformance';

// Benchmarks
export { benchmarks } from './benchmarks';
export type { Benchmark } from './benchmarks';

// Processes: the process table the vma-manager service serves
export { VmaManager } from './tasks/process-table';
export type { VmaManagerOptions, SyscallRequest, FaultRequest, ProcFileName } from './tasks/process-table';
export { Task, TASK_COMM_LEN, SIGCHLD, commBytes } from './tasks/task';
export { procStatField, STAT_FIELD } from './tasks/proc-stat';
export { FdTable, NR_OPEN_DEFAULT } from './tasks/fd-table';
export type { TaskState } from './tasks/task';
export type { Syscall, SyscallKind } from './tasks/syscall';
export { checkSyscall } from './tasks/syscall';
export { isFileCall, runFileCall } from './tasks/file-call';
export type { FileCall, ProcessCall, ProcessCallResult } from './tasks/file-call';
export { DEVTMPFS_DEV, FIRST_DEVTMPFS_INO, DevtmpfsInodes } from './tasks/devtmpfs';
export type { FaultOutcome } from './tasks/fault';
export { X86_PF_PK, X86_PF_SHSTK, X86_PF_SGX } from './tasks/fault';
export { PID_MAX_DEFAULT, RESERVED_PIDS } from './tasks/pid-map';
export { NoSuchProcessError, ProcessExitedError, PidsExhaustedError } from './tasks/errors';
export { inprocMmuPort, inprocPagesPort } from './inproc-ports';
export {
  GFP_TRANSHUGE_ZEROED,
  HPAGE_PMD_NR,
  HPAGE_PMD_ORDER,
  HPAGE_PMD_SIZE,
  thpVmaSuitable,
} from './huge-memory';
