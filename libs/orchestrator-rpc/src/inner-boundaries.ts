import { status } from '@grpc/grpc-js';
import { BoundaryServiceClient } from '@pagemesh/proto';
import type { BoundaryFigures } from '@pagemesh/replay';
import {
  boundaryFiguresSince,
  fetchBoundaryFigures,
  isStatusError,
  type ClientPool,
  type OutgoingCallFigures,
} from '@pagemesh/service-kit';

/**
 * The services below the orchestrator that may call others (the page allocator calls nobody, but
 * is asked too: a service that starts calling someone shows up without a change here).
 */
const CALLERS = ['vma-manager', 'device-drivers', 'mmu', 'page-allocator'] as const;
export type InnerServiceName = (typeof CALLERS)[number];

/**
 * The outgoing calls of every service below the orchestrator, since each started, as its own
 * clients measured them (BoundaryService.GetBoundaryFigures, which the kit serves in every service).
 * A service that answers UNIMPLEMENTED (built before BoundaryService) contributes no rows.
 */
export async function fetchInnerCalls(
  addresses: Readonly<Record<InnerServiceName, string>>,
  pool: ClientPool,
): Promise<OutgoingCallFigures[]> {
  const rows = await Promise.all(
    CALLERS.map((s) =>
      fetchBoundaryFigures(pool.client(addresses[s], BoundaryServiceClient)).catch((e: unknown) => {
        // a service built before BoundaryService (an older image) has no figures to give
        if (isStatusError(e) && e.code === status.UNIMPLEMENTED) return [];
        throw e;
      }),
    ),
  );
  return rows.flat();
}

/**
 * The report's rows: boundary `caller→callee` (`vma-manager→mmu`) and the RPC method, sorted as
 * the replay's recorder sorts its own. Over gRPC a boundary's methods are the RPCs that cross it,
 * so they differ in name and number from the in-process port methods (comparableReport leaves
 * inner boundaries out for that reason).
 */
export function toBoundaryFigures(rows: readonly OutgoingCallFigures[]): BoundaryFigures[] {
  return rows
    .map((r) => ({
      boundary: `${r.caller}→${r.callee}`,
      method: r.method,
      calls: r.calls,
      items: r.items,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
    }))
    .sort((a, b) => a.boundary.localeCompare(b.boundary) || a.method.localeCompare(b.method));
}

/**
 * `Stack.innerBoundaries` over the services at `addresses`: what they called since `since` (a
 * snapshot taken before the workload), or since they started when there is none.
 */
export function innerBoundaries(
  addresses: Readonly<Record<InnerServiceName, string>>,
  pool: ClientPool,
  since: readonly OutgoingCallFigures[] = [],
): () => Promise<BoundaryFigures[]> {
  return async () => toBoundaryFigures(boundaryFiguresSince(await fetchInnerCalls(addresses, pool), since));
}
