import { DeviceDrivers, type DeviceDriversOptions } from '@pagemesh/device-drivers';
import { deviceDriversServiceOptions, grpcDriverPorts } from '@pagemesh/device-drivers-rpc';
import { MmuServiceClient, PageAllocatorServiceClient } from '@pagemesh/proto';
import { ClientPool, type ServiceConfig, type StartServiceOptions } from '@pagemesh/service-kit';

/** The services the drivers call: the page allocator (kmalloc, pages, RAM) and the mmu (vmalloc). */
export const CALLS = ['mmu', 'page-allocator'] as const;
export const FLAGS = CALLS.map((c) => `${c}-address`);

function address(config: ServiceConfig, service: (typeof CALLS)[number], why: string): string {
  const value = config.extra[`${service}-address`];
  if (!value)
    throw new RangeError(`missing --${service}-address: the device drivers need the ${why} (host:port)`);
  return value;
}

/**
 * Serves the device-drivers layer with the lab's three modules (kmmap, vmmap, pages) over the
 * page-allocator and mmu services named by --page-allocator-address and --mmu-address.
 */
export async function buildDeviceDriversService(
  config: ServiceConfig,
  pool = new ClientPool(),
  options: DeviceDriversOptions = {},
): Promise<StartServiceOptions> {
  const pageAllocator = address(config, 'page-allocator', 'page allocator');
  const mmu = address(config, 'mmu', 'mmu');
  const ports = grpcDriverPorts(
    pool.client(pageAllocator, PageAllocatorServiceClient),
    pool.client(mmu, MmuServiceClient),
  );
  return deviceDriversServiceOptions(await DeviceDrivers.create(ports, options), config);
}
