import { orchestratorHandlers } from '@pagemesh/orchestrator-rpc';
import { OrchestratorServiceService, protoFile, protoIncludeDir } from '@pagemesh/proto';
import type { ServiceConfig, StartServiceOptions } from '@pagemesh/service-kit';

/** The services the orchestrator drives (the CPU calls every layer below it). */
export const CALLS = ['vma-manager', 'device-drivers', 'mmu', 'page-allocator'] as const;
export const FLAGS = CALLS.map((c) => `${c}-address`);

/** The orchestrator service: its built-in workloads. */
export function buildOrchestratorService(config: ServiceConfig): StartServiceOptions {
  return {
    name: 'orchestrator',
    protoFiles: [protoFile('orchestrator')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: OrchestratorServiceService, implementation: orchestratorHandlers() }],
    config,
  };
}
