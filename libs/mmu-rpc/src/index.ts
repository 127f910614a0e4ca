/**
 * @pagemesh/mmu-rpc: the mmu over gRPC. Server handlers over a domain Mmu, the mmu's port to the
 * page allocator implemented with gRPC calls, and the wire conversions of VM flags and pgprot.
 */
export { mmuHandlers, wireVa, pgprotFromWire, MAX_PAGES_PER_CALL, MAX_ACCESSES_PER_BATCH } from './server';
export { grpcPageAllocatorPort } from './page-allocator-port';
export { vmFlagsFromWire, vmFlagsToWire } from './vm-flags-wire';
export { bootMmuOverGrpc, mmuServiceOptions } from './service-options';
