import type { ServiceConfig, StartServiceOptions } from '@pagemesh/service-kit';
import { VmaManagerServiceService, protoFile, protoIncludeDir } from '@pagemesh/proto';

/** The addresses of the services this one calls, from its flags. */
export const CALLS = ['device-drivers', 'mmu', 'page-allocator'] as const;

/**
 * The vma-manager service. Its RPCs are served by the vma-manager domain library once that lands;
 * until then the server answers health and reflection, and each RPC says UNIMPLEMENTED.
 */
export function buildVmaManagerService(config: ServiceConfig): StartServiceOptions {
  return {
    name: 'vma-manager',
    protoFiles: [protoFile('vmaManager')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: VmaManagerServiceService, implementation: {} }],
    config,
  };
}
