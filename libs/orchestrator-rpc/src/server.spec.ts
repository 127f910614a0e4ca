import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { GetWorkloadRequest, GetWorkloadResponse } from '@pagemesh/proto';
import { orchestratorHandlers } from './server';

const call = (name: string) =>
  ({ request: { name } }) as ServerUnaryCall<GetWorkloadRequest, GetWorkloadResponse>;

describe('orchestrator handlers', () => {
  const handlers = orchestratorHandlers();

  it('list every built-in workload with its description', () => {
    const { workloads } = handlers.listWorkloads();
    expect(workloads.length).toBeGreaterThanOrEqual(6);
    expect(workloads.find((w) => w.name === 'lab-mmap')?.description).toMatch(/\S/);
  });

  it('give a workload as the JSON of the workload format', () => {
    const res = handlers.getWorkload(call('fork-cow'));
    expect(res.workload?.name).toBe('fork-cow');
    expect(JSON.parse(res.json)).toEqual(expect.objectContaining({ processes: expect.any(Array) }));
  });

  it('refuse an empty or unknown name with the kind the status table maps', () => {
    expect(() => handlers.getWorkload(call(''))).toThrow(
      expect.objectContaining({ kind: 'invalid-argument', field: 'name' }),
    );
    expect(() => handlers.getWorkload(call('nope'))).toThrow(
      expect.objectContaining({ kind: 'not-found', value: 'nope' }),
    );
  });
});
