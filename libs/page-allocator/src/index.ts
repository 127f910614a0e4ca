/**
 * @pagemesh/page-allocator: physical memory of a simulated x86 machine, as Linux manages it.
 * struct page for every PFN (16 bytes each), zones with watermarks, the buddy allocator,
 * SLUB-style kmalloc caches, the bytes of RAM, and the /proc views. Pure and synchronous.
 */

// Machine and allocator
export { bootMachine, PageAllocator } from './page-allocator';
export type { PageCounters, AllocFailure, PageRefOp } from './page-allocator';
export type { PageInfo } from './page-info';
export { DEFAULT_MACHINE_CONFIG } from './machine-profile';
export type { Arch, MachineConfig, MachineProfile, ZoneSpan, BootReservation } from './machine-profile';

// Page state vocabulary
export { PageFlag, PageType, PAGE_FLAG_NAMES, PAGE_TYPE_NAMES } from './page-flags';
export type { PageMapping } from './page-flags';
export { Zone, ZONE_NAMES } from './zone-type';

// GFP and orders
export { GFP, gfpZone, formatGfp } from './gfp';
export { MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGE_ALLOC_COSTLY_ORDER, getOrder } from './orders';

// kmalloc and /proc
export { ZERO_SIZE_PTR, KMALLOC_MAX_CACHE_SIZE, KMALLOC_MAX_SIZE, kmallocIndex } from './kmalloc';
export { KPF, kpageflagNames } from './kpageflags';

// Errors
export {
  DomainError,
  InvalidArgumentError,
  FailedPreconditionError,
  InvariantViolationError,
} from './errors';
export type { InvariantReport } from './invariants';

// Test helper for callers that expect an allocation to succeed
export { must } from './testing';

// Benchmarks (figures for `pagemesh bench`, not tests)
export { benchmarks } from './benchmarks';
export type { Benchmark } from './benchmarks';
