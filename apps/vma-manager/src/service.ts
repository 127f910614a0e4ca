import {
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
import { grpcMmuPort, grpcPagesPort, vmaManagerHandlers } from '@pagemesh/vma-manager-rpc';

/**
 * The services the vma-manager calls. The device drivers are not called yet: their address is
 * accepted so that a stack passes the same flags before and after device files land.
 */
export const CALLS = ['device-drivers', 'mmu', 'page-allocator'] as const;
export const FLAGS = CALLS.map((c) => `${c}-address`);

function address(config: ServiceConfig, service: 'mmu' | 'page-allocator', why: string): string {
  const value = config.extra[`${service}-address`];
  if (!value)
    throw new RangeError(`missing --${service}-address: the vma-manager needs the ${why} (host:port)`);
  return value;
}

/**
 * Serves the process table over the mmu and page-allocator services named by --mmu-address and
 * --page-allocator-address. The machine's RAM (totalram_pages, for the overcommit heuristic) is
 * the page allocator's; the other sysctls are the reference kernel's (ORACLE_MACHINE).
 */
export async function buildVmaManagerService(
  config: ServiceConfig,
  pool = new ClientPool(),
): Promise<StartServiceOptions> {
  const pageAllocator = address(config, 'page-allocator', 'page allocator');
  const mmu = address(config, 'mmu', 'mmu');
  const paClient = pool.client(pageAllocator, PageAllocatorServiceClient);
  const manager = await (async () => {
    const info = await promisifyUnary(paClient, 'getMachine')({});
    const totalRamPages = Number(info.zones.reduce((sum, z) => sum + z.managedPages, 0n));
    return VmaManager.create(
      { mmu: grpcMmuPort(pool.client(mmu, MmuServiceClient)), pages: grpcPagesPort(paClient) },
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
