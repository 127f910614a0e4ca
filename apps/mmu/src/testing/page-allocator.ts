import type { PageAllocator } from '@pagemesh/page-allocator';
import { pageAllocatorHandlers } from '@pagemesh/page-allocator-rpc';
import { PageAllocatorServiceService, protoFile, protoIncludeDir } from '@pagemesh/proto';
import { parseServiceConfig, type StartServiceOptions } from '@pagemesh/service-kit';

/** A page-allocator service over `pa` on an ephemeral port, for tests of the services above it. */
export function buildPageAllocatorServiceForTest(pa: PageAllocator): StartServiceOptions {
  return {
    name: 'page-allocator',
    protoFiles: [protoFile('pageAllocator')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: PageAllocatorServiceService, implementation: pageAllocatorHandlers(pa) }],
    config: parseServiceConfig('page-allocator', { argv: ['--port=0', '--metrics-port=off'], env: {} }),
  };
}
