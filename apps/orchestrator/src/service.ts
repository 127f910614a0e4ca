import { LOWER_SERVICES, orchestratorHandlers, type RemoteAddresses } from '@pagemesh/orchestrator-rpc';
import { OrchestratorServiceService, protoFile, protoIncludeDir } from '@pagemesh/proto';
import type { ServiceConfig, StartServiceOptions } from '@pagemesh/service-kit';

/** The services the orchestrator drives (the CPU calls every layer below it). */
export const CALLS = ['vma-manager', 'device-drivers', 'mmu', 'page-allocator'] as const;
export const FLAGS = CALLS.map((c) => `${c}-address`);

/**
 * The stack the orchestrator replays on: the four --*-address flags, or null when none is given
 * (then it replays only in-process). Some but not all is a mistake worth refusing at start.
 */
export function stackAddresses(config: ServiceConfig): RemoteAddresses | null {
  const given = LOWER_SERVICES.filter((s) => config.extra[`${s}-address`]);
  if (given.length === 0) return null;
  const missing = LOWER_SERVICES.filter((s) => !config.extra[`${s}-address`]);
  if (missing.length > 0)
    throw new RangeError(
      `missing ${missing.map((s) => `--${s}-address`).join(', ')}: the orchestrator replays on all four services below it, or (with none given) in-process only`,
    );
  const at = (s: (typeof LOWER_SERVICES)[number]) => config.extra[`${s}-address`];
  return {
    'page-allocator': at('page-allocator'),
    mmu: at('mmu'),
    'device-drivers': at('device-drivers'),
    'vma-manager': at('vma-manager'),
  };
}

/** The orchestrator service: its built-in workloads, and Replay on its stack or in-process. */
export function buildOrchestratorService(config: ServiceConfig): StartServiceOptions {
  return {
    name: 'orchestrator',
    protoFiles: [protoFile('orchestrator')],
    includeDirs: [protoIncludeDir()],
    services: [
      {
        definition: OrchestratorServiceService,
        implementation: orchestratorHandlers({ stack: stackAddresses(config) }),
      },
    ],
    config,
  };
}
