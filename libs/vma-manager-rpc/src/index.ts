/**
 * @pagemesh/vma-manager-rpc: the vma-manager over gRPC. Server handlers over a process table
 * (VmaManager), its ports to the mmu, the page allocator and the device drivers implemented with
 * gRPC calls, and the wire conversions of syscalls (file calls included), fault outcomes and
 * /proc file names.
 */
export { vmaManagerHandlers, MAX_SYSCALLS_PER_BATCH, MAX_FAULTS_PER_BATCH } from './server';
export { GrpcMmuPort, grpcMmuPort } from './mmu-port';
export { grpcPagesPort } from './page-allocator-port';
export { grpcDeviceFilesPort, grpcRemapMmuPort } from './device-files-port';
export {
  u64FromWire,
  syscallFromWire,
  syscallToWire,
  syscallResultToWire,
  syscallResultFromWire,
  errnoToWire,
  errnoFromWire,
  faultOutcomeToWire,
  procFileFromWire,
} from './wire';
