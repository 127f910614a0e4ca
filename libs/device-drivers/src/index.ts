/**
 * @pagemesh/device-drivers: loadable modules, character devices and their nodes, open files and
 * their file_operations, and the kernel-labs memory-mapping drivers whose mmap answers with
 * remap_pfn_range calls over kmalloc, vmalloc or alloc_pages memory. Pure TypeScript; talks to the
 * page allocator and the mmu through {@link DriverPorts}.
 */

// the facade
export { DeviceDrivers, DEFAULT_MODULES, DMESG_LINES } from './device-drivers';
export type { DeviceDriversOptions, FileInfo, DriverMemoryView, OpenResult } from './device-drivers';

// mmap: the VMA a driver sees, its remap requests, and applying them
export {
  VM_READ,
  VM_WRITE,
  VM_EXEC,
  VM_SHARED,
  VM_MAYREAD,
  VM_MAYWRITE,
  VM_MAYEXEC,
  VM_MAYSHARE,
  vmaPages,
} from './vm';
export type { DriverVma, RemapRequest, MmapResult } from './vm';
export { applyRemapRequests } from './remap';
export type { RemapOutcome } from './remap';

// the driver model
export { CharDevices, MINORBITS, MINORMASK, CHRDEV_MAJOR_MAX, mkdev, majorOf, minorOf } from './driver-model';
export type { ChrdevRegion, Cdev, DeviceNode } from './driver-model';
export { Modules, parseIntParam } from './module';
export type {
  KernelServices,
  ModuleDefinition,
  ModuleInstance,
  ModuleInfo,
  ModuleParamSpec,
  DriverMemory,
} from './module';
export {
  DriverFile,
  O_RDONLY,
  O_WRONLY,
  O_RDWR,
  O_ACCMODE,
  FMODE_READ,
  FMODE_WRITE,
  MAX_RW_COUNT,
} from './file';
export type { FileOperations, FilePos, ReadResult, WriteResult } from './file';
export { ProcEntries, labProcShow, TASK_COMM_LEN } from './proc-entry';
export type { ProcContext, ProcShow } from './proc-entry';

// the drivers
export {
  NPAGES,
  MY_MAJOR,
  MY_MINOR,
  CHRDEV_NAME,
  PROC_ENTRY_NAME,
  MMAP_DEV,
  INIT_PATTERN,
  WRITE_PATTERN,
} from './drivers/lab-constants';
export { kmmapModule, KmmapDriver, KMMAP_KMALLOC_SIZE } from './drivers/kmmap';
export { vmmapModule, VmmapDriver, VMMAP_VMALLOC_SIZE } from './drivers/vmmap';
export { pagesModule, PagesDriver, PAGES_DEFAULT_ORDER, PAGES_GFP } from './drivers/pages';

// ports
export type {
  DriverPorts,
  DriverPageAllocatorPort,
  DriverMmuPort,
  RemapMmuPort,
  PhysRange,
  PhysWrite,
} from './ports';
export { inprocDriverPorts } from './inproc-ports';

// errors
export {
  DeviceDriversError,
  InvalidArgumentError,
  NotFoundError,
  FailedPreconditionError,
  AlreadyExistsError,
  InvariantViolationError,
} from './errors';
export type { DeviceDriversErrorKind } from './errors';

// benchmarks (figures for `pagemesh bench`, not tests)
export { benchmarks } from './benchmarks';
export type { Benchmark } from './benchmarks';
