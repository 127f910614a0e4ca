import { bootMachine, type PageAllocator } from '@pagemesh/page-allocator';
import { pageAllocatorHandlers } from '@pagemesh/page-allocator-rpc';
import { PageAllocatorServiceService, protoFile, protoIncludeDir } from '@pagemesh/proto';
import type { ServiceConfig, StartServiceOptions } from '@pagemesh/service-kit';
import { machineFromFlags, MACHINE_FLAGS } from './machine-flags';

/** The page allocator calls no other service: it is the bottom of the DAG. */
export const CALLS = [] as const;
export const FLAGS = [...MACHINE_FLAGS];

/** Boots the machine its flags describe (default x86_64, 4 GiB) and serves it. */
export function buildPageAllocatorService(
  config: ServiceConfig,
  pa: PageAllocator = bootMachine(machineFromFlags(config.extra)),
): StartServiceOptions {
  return {
    name: 'page-allocator',
    protoFiles: [protoFile('pageAllocator')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: PageAllocatorServiceService, implementation: pageAllocatorHandlers(pa) }],
    config,
  };
}
