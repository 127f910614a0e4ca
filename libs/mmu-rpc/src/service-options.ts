import { Mmu, type MmuOptions } from '@pagemesh/mmu';
import { MmuServiceService, PageAllocatorServiceClient, protoFile, protoIncludeDir } from '@pagemesh/proto';
import type { ClientPool, ServiceConfig, StartServiceOptions } from '@pagemesh/service-kit';
import { grpcPageAllocatorPort } from './page-allocator-port';
import { mmuHandlers } from './server';

/**
 * Boots an mmu against the page-allocator service at `address` (init_mm's tables are built from
 * the frames it hands out). A failure names the page allocator it could not use.
 */
export async function bootMmuOverGrpc(
  address: string,
  pool: ClientPool,
  options: MmuOptions = {},
): Promise<Mmu> {
  const port = grpcPageAllocatorPort(pool.client(address, PageAllocatorServiceClient));
  return Mmu.boot(port, options).catch((err: unknown) => {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(`cannot boot against the page allocator at ${address}: ${why}`);
  });
}

/** The mmu service over `mmu`: what the app serves, and what tests of the layers above start. */
export function mmuServiceOptions(mmu: Mmu, config: ServiceConfig): StartServiceOptions {
  return {
    name: 'mmu',
    protoFiles: [protoFile('mmu')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: MmuServiceService, implementation: mmuHandlers(mmu) }],
    config,
  };
}
