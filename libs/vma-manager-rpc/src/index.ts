/**
 * @pagemesh/vma-manager-rpc: the vma-manager over gRPC. Server handlers over a process table
 * (VmaManager), its ports to the mmu and the page allocator implemented with gRPC calls, and the
 * wire conversions of syscalls, fault outcomes and /proc file names.
 */
export { vmaManagerHandlers, MAX_SYSCALLS_PER_BATCH, MAX_FAULTS_PER_BATCH } from './server';
export { GrpcMmuPort, grpcMmuPort } from './mmu-port';
export { grpcPagesPort } from './page-allocator-port';
export {
  u64FromWire,
  syscallFromWire,
  syscallToWire,
  syscallResultToWire,
  faultOutcomeToWire,
  procFileFromWire,
} from './wire';
