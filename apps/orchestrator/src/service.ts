import type { ServiceConfig, StartServiceOptions } from '@pagemesh/service-kit';
import { OrchestratorServiceService, protoFile, protoIncludeDir } from '@pagemesh/proto';

/** The addresses of the services this one calls, from its flags. */
export const CALLS = ['vma-manager', 'device-drivers', 'mmu', 'page-allocator'] as const;

/**
 * The orchestrator service. Its RPCs are served by the orchestrator domain library once that lands;
 * until then the server answers health and reflection, and each RPC says UNIMPLEMENTED.
 */
export function buildOrchestratorService(config: ServiceConfig): StartServiceOptions {
  return {
    name: 'orchestrator',
    protoFiles: [protoFile('orchestrator')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: OrchestratorServiceService, implementation: {} }],
    config,
  };
}
