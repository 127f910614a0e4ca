import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  OrchestratorServiceClient,
  ReplayRequest,
  ReplayTransport,
  type ReplayResponse,
} from '@pagemesh/proto';
import {
  checkHealth,
  parseServiceConfig,
  promisifyUnary,
  startService,
  type RunningService,
} from '@pagemesh/service-kit';
import { buildOrchestratorService, FLAGS, stackAddresses } from './service';

describe('orchestrator service over gRPC', () => {
  let service: RunningService;
  let client: OrchestratorServiceClient;

  beforeEach(async () => {
    const config = parseServiceConfig('orchestrator', {
      argv: ['--port=0', '--metrics-port=off'],
      env: {},
      extraFlags: FLAGS,
    });
    service = await startService(buildOrchestratorService(config));
    client = new OrchestratorServiceClient(service.address, credentials.createInsecure());
  });

  afterEach(async () => {
    client.close();
    await service.shutdown();
  });

  it('answers health and lists the built-in workloads', async () => {
    expect(await checkHealth(service.address, 'pagemesh.v1.OrchestratorService')).toBe('SERVING');
    const { workloads } = await promisifyUnary(client, 'listWorkloads')({});
    expect(workloads.map((w) => w.name)).toEqual([
      'lab-mmap',
      'demand-paging',
      'fork-cow',
      'buddy-fragmentation',
      'malloc-churn',
      'mixed',
    ]);
    expect(workloads.every((w) => w.description.length > 0)).toBe(true);
  });

  it('returns a built-in workload as JSON', async () => {
    const res = await promisifyUnary(client, 'getWorkload')({ name: 'demand-paging' });
    expect(res.workload?.name).toBe('demand-paging');
    expect(JSON.parse(res.json)).toHaveProperty('processes');
  });

  it('refuses an unknown or empty name with the status that says so', async () => {
    const unknown = (await promisifyUnary(
      client,
      'getWorkload',
    )({ name: 'nope' }).catch((e: ServiceError) => e)) as ServiceError;
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toMatch(/"nope".*lab-mmap/);
    const empty = (await promisifyUnary(
      client,
      'getWorkload',
    )({ name: '' }).catch((e: ServiceError) => e)) as ServiceError;
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    expect(empty.details).toMatch(/name/);
  });

  it('replays in-process when started alone: progress events, then the report', async () => {
    const events = await new Promise<ReplayResponse[]>((resolve, reject) => {
      const out: ReplayResponse[] = [];
      const stream = client.replay(
        ReplayRequest.fromPartial({
          workload: { $case: 'builtin', value: 'fork-cow' },
          transport: ReplayTransport.REPLAY_TRANSPORT_INPROC,
        }),
      );
      stream.on('data', (e: ReplayResponse) => out.push(e));
      stream.on('error', reject);
      stream.on('end', () => resolve(out));
    });
    const last = events[events.length - 1].event;
    expect(events.slice(0, -1).every((e) => e.event?.$case === 'progress')).toBe(true);
    expect(last?.$case).toBe('result');
    if (last?.$case !== 'result') return;
    expect(last.value).toEqual(expect.objectContaining({ ok: true, exitCode: 0, transport: 'inproc' }));
    expect(JSON.parse(last.value.reportJson).workload.name).toBe('fork-cow');
  });
});

describe('the stack the orchestrator replays on', () => {
  const config = (argv: string[]) =>
    parseServiceConfig('orchestrator', { argv: ['--port=0', ...argv], env: {}, extraFlags: FLAGS });

  it('is the four services its flags name, or none', () => {
    expect(stackAddresses(config([]))).toBeNull();
    expect(
      stackAddresses(
        config([
          '--vma-manager-address=127.0.0.1:50054',
          '--device-drivers-address=127.0.0.1:50053',
          '--mmu-address=127.0.0.1:50052',
          '--page-allocator-address=127.0.0.1:50051',
        ]),
      ),
    ).toEqual({
      'page-allocator': '127.0.0.1:50051',
      mmu: '127.0.0.1:50052',
      'device-drivers': '127.0.0.1:50053',
      'vma-manager': '127.0.0.1:50054',
    });
    expect(() => stackAddresses(config(['--mmu-address=127.0.0.1:50052']))).toThrow(
      /missing --page-allocator-address, --device-drivers-address, --vma-manager-address/,
    );
  });
});
