import type { ServerUnaryCall } from '@grpc/grpc-js';
import { BUILTIN_WORKLOADS } from '@pagemesh/replay';
import type { GetWorkloadRequest, GetWorkloadResponse, ListWorkloadsResponse } from '@pagemesh/proto';
import { DomainError } from '@pagemesh/service-kit';
import { replayHandler, type ReplayServiceOptions } from './replay-handler';

/**
 * The OrchestratorService handlers: the built-in workloads, and Replay on the services the
 * orchestrator was started with (none by default: then only in-process replays).
 */
export function orchestratorHandlers(options: ReplayServiceOptions = { stack: null }) {
  const listWorkloads = (): ListWorkloadsResponse => ({
    workloads: BUILTIN_WORKLOADS.map(({ name, description }) => ({ name, description })),
  });

  const getWorkload = (req: GetWorkloadRequest): GetWorkloadResponse => {
    if (req.name === '')
      throw new DomainError('invalid-argument', 'name is empty: name a built-in workload', {
        field: 'name',
        value: '',
      });
    const found = BUILTIN_WORKLOADS.find((w) => w.name === req.name);
    if (!found) {
      throw new DomainError(
        'not-found',
        `name=${JSON.stringify(req.name)}: no such built-in workload (${BUILTIN_WORKLOADS.map((w) => w.name).join(', ')})`,
        { field: 'name', value: req.name },
      );
    }
    return {
      workload: { name: found.name, description: found.description },
      json: JSON.stringify(found.data, null, 2),
    };
  };

  return {
    listWorkloads: () => listWorkloads(),
    getWorkload: (call: ServerUnaryCall<GetWorkloadRequest, GetWorkloadResponse>) =>
      getWorkload(call.request),
    replay: replayHandler(options),
  };
}
