import {
  DeviceDriversServiceClient,
  MmuServiceClient,
  PageAllocatorServiceClient,
  VmaManagerServiceService,
  protoFile,
  protoIncludeDir,
} from '@pagemesh/proto';
import {
  ClientPool,
  promisifyUnary,
  type ServiceConfig,
  type StartServiceOptions,
} from '@pagemesh/service-kit';
import { Machine, ORACLE_MACHINE, VmaManager } from '@pagemesh/vma-manager';
import {
  grpcDeviceFilesPort,
  grpcMmuPort,
  grpcPagesPort,
  vmaManagerHandlers,
} from '@pagemesh/vma-manager-rpc';

/**
 * The services the vma-manager calls: the device drivers for device files (open, read, write,
 * mmap, /proc entries), the mmu for page tables and the driver's remap_pfn_range calls, the page
 * allocator for pages.
 */
export const CALLS = ['device-drivers', 'mmu', 'page-allocator'] as const;
export const FLAGS = CALLS.map((c) => `${c}-address`);

function address(config: ServiceConfig, service: (typeof CALLS)[number], why: string): string {
  const value = config.extra[`${service}-address`];
  if (!value)
    throw new RangeError(`missing --${service}-address: the vma-manager needs the ${why} (host:port)`);
  return value;
}

/**
 * Serves the process table over the services named by --device-drivers-address, --mmu-address
 * and --page-allocator-address. The machine's RAM (totalram_pages, for the overcommit heuristic)
 * is the page allocator's; the other sysctls are the reference kernel's (ORACLE_MACHINE). The
 * device drivers are first called when a process opens a device file, so they may start later.
 */
export async function buildVmaManagerService(
  config: ServiceConfig,
  pool = new ClientPool(),
): Promise<StartServiceOptions> {
  const pageAllocator = address(config, 'page-allocator', 'page allocator');
  const mmu = address(config, 'mmu', 'mmu');
  const deviceDrivers = address(config, 'device-drivers', 'device drivers');
  const paClient = pool.client(pageAllocator, PageAllocatorServiceClient);
  const mmuClient = pool.client(mmu, MmuServiceClient);
  const manager = await (async () => {
    const info = await promisifyUnary(paClient, 'getMachine')({});
    const totalRamPages = Number(info.zones.reduce((sum, z) => sum + z.managedPages, 0n));
    return VmaManager.create(
      {
        mmu: grpcMmuPort(mmuClient),
        pages: grpcPagesPort(paClient),
        files: grpcDeviceFilesPort(pool.client(deviceDrivers, DeviceDriversServiceClient), mmuClient),
      },
      { machine: new Machine({ ...ORACLE_MACHINE, totalRamPages }) },
    );
  })().catch((err: unknown) => {
    // Start-up reads the machine and sets up the zero page: say which dependency failed.
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(`cannot start against the page allocator at ${pageAllocator}: ${why}`);
  });
  return {
    name: 'vma-manager',
    protoFiles: [protoFile('vmaManager')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: VmaManagerServiceService, implementation: vmaManagerHandlers(manager) }],
    config,
  };
}
