import type { ServiceConfig, StartServiceOptions } from '@pagemesh/service-kit';
import { DeviceDriversServiceService, protoFile, protoIncludeDir } from '@pagemesh/proto';

/** The addresses of the services this one calls, from its flags. */
export const CALLS = ['mmu', 'page-allocator'] as const;

/**
 * The device-drivers service. Its RPCs are served by the device-drivers domain library once that lands;
 * until then the server answers health and reflection, and each RPC says UNIMPLEMENTED.
 */
export function buildDeviceDriversService(config: ServiceConfig): StartServiceOptions {
  return {
    name: 'device-drivers',
    protoFiles: [protoFile('deviceDrivers')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: DeviceDriversServiceService, implementation: {} }],
    config,
  };
}
