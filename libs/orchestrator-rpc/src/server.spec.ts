import { credentials, status, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import {
  OrchestratorServiceClient,
  OrchestratorServiceService,
  ReplayRequest,
  ReplayTransport,
  WorkloadFormat,
  protoFile,
  protoIncludeDir,
  type GetWorkloadRequest,
  type GetWorkloadResponse,
  type ReplayProgress,
  type ReplayResponse,
  type ReplayResult,
} from '@pagemesh/proto';
import {
  bootInprocStack,
  builtinWorkload,
  comparableReport,
  replayWorkload,
  type RunReport,
} from '@pagemesh/replay';
import { ephemeralServiceConfig, startService, type RunningService } from '@pagemesh/service-kit';
import type { RemoteAddresses } from './remote-stack';
import { orchestratorHandlers } from './server';
import { serveMachineInProcess } from './testing/in-process-services';

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

/** The orchestrator served over gRPC on an ephemeral port, replaying on `stack`. */
async function serveOrchestrator(stack: RemoteAddresses | null): Promise<{
  client: OrchestratorServiceClient;
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const service: RunningService = await startService({
    name: 'orchestrator',
    protoFiles: [protoFile('orchestrator')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: OrchestratorServiceService, implementation: orchestratorHandlers({ stack }) }],
    config: ephemeralServiceConfig('orchestrator'),
  });
  const client = new OrchestratorServiceClient(service.address, credentials.createInsecure());
  return {
    client,
    [Symbol.asyncDispose]: async () => {
      client.close();
      await service.shutdown();
    },
  };
}

/** Every event of one Replay call, or the status it ended with. */
function replay(
  client: OrchestratorServiceClient,
  req: Partial<ReplayRequest>,
): Promise<{ progress: ReplayProgress[]; result: ReplayResult; report: RunReport }> {
  return new Promise((resolve, reject) => {
    const progress: ReplayProgress[] = [];
    let result: ReplayResult | null = null;
    const stream = client.replay(ReplayRequest.fromPartial(req));
    stream.on('data', (e: ReplayResponse) => {
      if (e.event?.$case === 'progress') progress.push(e.event.value);
      else if (e.event?.$case === 'result') result = e.event.value;
    });
    stream.on('error', reject);
    stream.on('end', () => {
      if (!result) reject(new Error('the stream ended without a result'));
      else resolve({ progress, result, report: JSON.parse(result.reportJson) as RunReport });
    });
  });
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null as never,
    (e: ServiceError) => e,
  );

const SMALL = (expectErrno: string) => `name: small
description: one mapping, touched, then a munmap with a bad length
machine: { arch: x86_64, memory: 32M, cpus: 1 }
processes:
  - name: p
    ops:
      - mmap: { addr: '0x7e0000000000', length: 4p, prot: rw-, flags: private|anonymous|fixed_noreplace, save: buf }
      - touch: { addr: $buf, length: 4p, kind: write, value: 1, expect: { faults: 4 } }
      - munmap: { addr: '$buf+1', length: 4K, expect: { errno: ${expectErrno} } }
`;

describe('OrchestratorService.Replay over gRPC', () => {
  jest.setTimeout(90_000);

  it('replays a built-in on its stack: progress, then the report and verdict; a used stack is refused unless reused', async () => {
    const workload = builtinWorkload('demand-paging');
    if (!workload) throw new Error('demand-paging');
    await using services = await serveMachineInProcess(workload.machine);
    await using orchestrator = await serveOrchestrator(services.addresses);

    const run = await replay(orchestrator.client, { workload: { $case: 'builtin', value: 'demand-paging' } });
    expect(run.result).toEqual(
      expect.objectContaining({
        ok: true,
        exitCode: 0,
        failures: [],
        transport: expect.stringMatching(/^remote /),
      }),
    );
    expect(run.progress.length).toBeGreaterThan(1);
    const done = run.progress.map((p) => Number(p.opsDone));
    expect(done).toEqual([...done].sort((a, b) => a - b));
    const last = run.progress[run.progress.length - 1];
    expect(last.opsDone).toBe(last.opsTotal);
    expect(run.progress.every((p) => p.opsPerSecond >= 0)).toBe(true);
    const inproc = await replayWorkload(workload, bootInprocStack, {});
    expect(comparableReport(run.report)).toEqual(comparableReport(inproc));

    const again = await failure(
      replay(orchestrator.client, { workload: { $case: 'builtin', value: 'demand-paging' } }),
    );
    expect(again.code).toBe(status.FAILED_PRECONDITION);
    expect(again.details).toMatch(/have run something since they booted/);
    const reused = await replay(orchestrator.client, {
      workload: { $case: 'builtin', value: 'demand-paging' },
      reuseStack: true,
    });
    expect(reused.result.ok).toBe(true);
  });

  it('replays a workload text in-process and says which expectation failed', async () => {
    await using orchestrator = await serveOrchestrator(null);
    const text = (errno: string) => ({
      workload: {
        $case: 'text' as const,
        value: {
          text: SMALL(errno),
          format: WorkloadFormat.WORKLOAD_FORMAT_UNSPECIFIED,
          source: 'small.yaml',
        },
      },
      transport: ReplayTransport.REPLAY_TRANSPORT_INPROC,
    });
    const fails = await replay(orchestrator.client, text('ENOMEM'));
    expect(fails.result.ok).toBe(false);
    expect(fails.result.exitCode).toBe(1);
    expect(fails.result.failures).toEqual([
      expect.stringMatching(/^small\.yaml:9:\d+: .*munmap fails with ENOMEM: failed with EINVAL/),
    ]);
    expect(fails.result.transport).toBe('inproc');
    const passes = await replay(orchestrator.client, { ...text('EINVAL'), seed: 7 });
    expect(passes.result).toEqual(expect.objectContaining({ ok: true, exitCode: 0 }));
    expect(passes.report.workload.seed).toBe(7);
  });

  it('refuses what it cannot replay with the status and the place', async () => {
    await using orchestrator = await serveOrchestrator(null);
    const bad = await failure(
      replay(orchestrator.client, {
        workload: {
          $case: 'text',
          value: {
            text: SMALL('EINVAL').replace('length: 4p, prot', 'length: 4Q, prot'),
            format: 0,
            source: 'bad.yaml',
          },
        },
        transport: ReplayTransport.REPLAY_TRANSPORT_INPROC,
      }),
    );
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/bad\.yaml:7:\d+: processes\[0\]\.ops\[0\]\.mmap\.length/);

    const unknown = await failure(
      replay(orchestrator.client, { workload: { $case: 'builtin', value: 'nope' } }),
    );
    expect(unknown.code).toBe(status.NOT_FOUND);
    const none = await failure(replay(orchestrator.client, {}));
    expect(none.code).toBe(status.INVALID_ARGUMENT);

    const noStack = await failure(
      replay(orchestrator.client, { workload: { $case: 'builtin', value: 'fork-cow' } }),
    );
    expect(noStack.code).toBe(status.FAILED_PRECONDITION);
    expect(noStack.details).toMatch(/started without the addresses.*REPLAY_TRANSPORT_INPROC/);
  });
});
