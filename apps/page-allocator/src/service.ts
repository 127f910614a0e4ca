import { bootMachine, type PageAllocator } from '@pagemesh/page-allocator';
import { pageAllocatorServiceOptions } from '@pagemesh/page-allocator-rpc';
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
  return pageAllocatorServiceOptions(pa, config);
}
