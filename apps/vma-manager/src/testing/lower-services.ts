import { Mmu } from '@pagemesh/mmu';
import { grpcPageAllocatorPort, mmuHandlers } from '@pagemesh/mmu-rpc';
import type { PageAllocator } from '@pagemesh/page-allocator';
import { pageAllocatorHandlers } from '@pagemesh/page-allocator-rpc';
import {
  MmuServiceService,
  PageAllocatorServiceClient,
  PageAllocatorServiceService,
  protoFile,
  protoIncludeDir,
} from '@pagemesh/proto';
import { type ClientPool, parseServiceConfig, type StartServiceOptions } from '@pagemesh/service-kit';

const TEST_ARGS = ['--port=0', '--metrics-port=off'];

/** A page-allocator service over `pa` on an ephemeral port, for tests of the services above it. */
export function buildPageAllocatorServiceForTest(pa: PageAllocator): StartServiceOptions {
  return {
    name: 'page-allocator',
    protoFiles: [protoFile('pageAllocator')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: PageAllocatorServiceService, implementation: pageAllocatorHandlers(pa) }],
    config: parseServiceConfig('page-allocator', { argv: TEST_ARGS, env: {} }),
  };
}

/**
 * An mmu service booted against the page-allocator service at `pageAllocatorAddress` (as the mmu
 * app boots), on an ephemeral port.
 */
export async function buildMmuServiceForTest(
  pageAllocatorAddress: string,
  pool: ClientPool,
): Promise<StartServiceOptions> {
  const mmu = await Mmu.boot(
    grpcPageAllocatorPort(pool.client(pageAllocatorAddress, PageAllocatorServiceClient)),
    {
      cpus: 2,
    },
  );
  return {
    name: 'mmu',
    protoFiles: [protoFile('mmu')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: MmuServiceService, implementation: mmuHandlers(mmu) }],
    config: parseServiceConfig('mmu', { argv: TEST_ARGS, env: {} }),
  };
}
