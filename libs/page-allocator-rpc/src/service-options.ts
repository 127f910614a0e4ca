import type { PageAllocator } from '@pagemesh/page-allocator';
import { PageAllocatorServiceService, protoFile, protoIncludeDir } from '@pagemesh/proto';
import type { ServiceConfig, StartServiceOptions } from '@pagemesh/service-kit';
import { pageAllocatorHandlers } from './server';

/** The page-allocator service over `pa`: what the app serves, and what tests of the layers above start. */
export function pageAllocatorServiceOptions(pa: PageAllocator, config: ServiceConfig): StartServiceOptions {
  return {
    name: 'page-allocator',
    protoFiles: [protoFile('pageAllocator')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: PageAllocatorServiceService, implementation: pageAllocatorHandlers(pa) }],
    config,
  };
}
