import type { DeviceDrivers } from '@pagemesh/device-drivers';
import { DeviceDriversServiceService, protoFile, protoIncludeDir } from '@pagemesh/proto';
import type { ServiceConfig, StartServiceOptions } from '@pagemesh/service-kit';
import { deviceDriversHandlers } from './server';

/** The device-drivers service over `drivers`: what tests of the layers above start. */
export function deviceDriversServiceOptions(
  drivers: DeviceDrivers,
  config: ServiceConfig,
): StartServiceOptions {
  return {
    name: 'device-drivers',
    protoFiles: [protoFile('deviceDrivers')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: DeviceDriversServiceService, implementation: deviceDriversHandlers(drivers) }],
    config,
  };
}
