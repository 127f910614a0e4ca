/**
 * @pagemesh/mmu: x86 page tables, walks, TLBs, page faults and the kernel mappings (direct map,
 * vmalloc, kmap, remap_pfn_range). Pure TypeScript; talks to the page allocator through
 * {@link PageAllocatorPort}.
 */

// the mmu
export {
  Mmu,
  KERNEL_ASID,
  MAX_CPUS,
  MAX_PAGEMAP_PAGES,
  TLB_NR_DYN_ASIDS,
  TLB_SINGLE_PAGE_FLUSH_CEILING,
} from './mmu';
export type { MmuOptions, MapOptions, PfnSource, RemovedPte, DestroyResult, PageMapping } from './mmu';

// accesses and faults
export {
  ACC_AC,
  accessCode,
  describePageFault,
  isPageFault,
  pageFaultCode,
  MAX_ACCESS_BYTES,
  TRANSLATE_GP,
  X86_PF_PROT,
  X86_PF_WRITE,
  X86_PF_USER,
  X86_PF_RSVD,
  X86_PF_INSTR,
} from './access';
export type { Access, AccessOp, AccessResult } from './access';

// paging formats
export * from './paging/pte-bits';
export {
  x86_64Profile,
  x86Profile,
  splitAddress,
  levelIndex,
  isVa,
  isKernelAddress,
  KM_MAX_IDX,
} from './paging/paging-profile';
export type { Arch, LevelName, PagingProfile } from './paging/paging-profile';
export { entryPfn } from './paging/page-tables';
export type { WalkStep, WalkTrace } from './paging/page-tables';
export { NON_CANONICAL, accessAddress, formatVa } from './paging/va48';
export type { PagemapEntry } from './pagemap';

// TLB
export type { TlbConfig, TlbGeometry, TlbStats } from './tlb/tlb';

// remap_pfn_range
export {
  isCowMapping,
  VM_MAYWRITE,
  VM_PFNMAP,
  VM_IO,
  VM_DONTEXPAND,
  VM_DONTDUMP,
  VM_REMAP_FLAGS,
} from './remap-pfn-range';
export type { RemapVma, RemapResult } from './remap-pfn-range';
export type { VmArea } from './kernel/vmalloc-areas';

// the port to the page allocator
export type { PageAllocatorPort, MachineInfo, PhysOp, MachineArch } from './ports';
export { inprocPageAllocatorPort } from './inproc-page-allocator-port';

// errors
export {
  MmuError,
  InvalidArgumentError,
  NotFoundError,
  FailedPreconditionError,
  ResourceExhaustedError,
  InvariantViolationError,
} from './errors';
export type { MmuErrorKind } from './errors';

// benchmarks (figures for `pagemesh bench`, not tests)
export { benchmarks } from './benchmarks';
export type { Benchmark } from './benchmarks';
