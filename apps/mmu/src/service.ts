import type { ServiceConfig, StartServiceOptions } from '@pagemesh/service-kit';
import { MmuServiceService, protoFile, protoIncludeDir } from '@pagemesh/proto';

/** The addresses of the services this one calls, from its flags. */
export const CALLS = ['page-allocator'] as const;

/**
 * The mmu service. Its RPCs are served by the mmu domain library once that lands;
 * until then the server answers health and reflection, and each RPC says UNIMPLEMENTED.
 */
export function buildMmuService(config: ServiceConfig): StartServiceOptions {
  return {
    name: 'mmu',
    protoFiles: [protoFile('mmu')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: MmuServiceService, implementation: {} }],
    config,
  };
}
