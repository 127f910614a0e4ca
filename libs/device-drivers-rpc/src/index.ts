/**
 * @pagemesh/device-drivers-rpc: the device drivers over gRPC. Server handlers over a domain
 * DeviceDrivers, and the drivers' ports to the page allocator and the mmu implemented with gRPC
 * calls to their services.
 */
export {
  deviceDriversHandlers,
  errnoToWire,
  pgprotToWire,
  MAX_FILES_PER_CALL,
  MAX_PROC_VMAS,
} from './server';
export { grpcDriverPorts, directMapVirtToPfn, directMapPageAddress } from './driver-ports';
export { deviceDriversServiceOptions } from './service-options';
