import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The .proto sources, relative to the include dir; reflection serves them as they are. */
export const PROTO_FILES = {
  pageAllocator: 'pagemesh/v1/page_allocator_service.proto',
  mmu: 'pagemesh/v1/mmu_service.proto',
  vmaManager: 'pagemesh/v1/vma_manager_service.proto',
  deviceDrivers: 'pagemesh/v1/device_drivers_service.proto',
  orchestrator: 'pagemesh/v1/orchestrator_service.proto',
  /** Served by every service through the kit's startService (its outgoing calls' figures). */
  boundary: 'pagemesh/v1/boundary_service.proto',
} as const;

let cached: string | undefined;

/**
 * The directory that holds `pagemesh/v1/*.proto`. Searched upward from this file so that it
 * is found both in the source tree (/protos) and next to a bundled app (dist/protos).
 */
export function protoIncludeDir(): string {
  if (cached) return cached;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    for (const candidate of [join(dir, 'protos'), dir]) {
      if (existsSync(join(candidate, PROTO_FILES.pageAllocator))) return (cached = candidate);
    }
    if (dirname(dir) === dir) break;
  }
  throw new Error(`cannot find the pagemesh .proto files above ${__dirname}`);
}

export function protoFile(name: keyof typeof PROTO_FILES): string {
  return join(protoIncludeDir(), PROTO_FILES[name]);
}
