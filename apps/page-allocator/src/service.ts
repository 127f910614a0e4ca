import type { ServiceConfig, StartServiceOptions } from '@pagemesh/service-kit';
import { PageAllocatorServiceService, protoFile, protoIncludeDir } from '@pagemesh/proto';

/** The addresses of the services this one calls, from its flags. */
export const CALLS = [] as const;

/**
 * The page-allocator service. Its RPCs are served by the page-allocator domain library once that lands;
 * until then the server answers health and reflection, and each RPC says UNIMPLEMENTED.
 */
export function buildPageAllocatorService(config: ServiceConfig): StartServiceOptions {
  return {
    name: 'page-allocator',
    protoFiles: [protoFile('pageAllocator')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: PageAllocatorServiceService, implementation: {} }],
    config,
  };
}
