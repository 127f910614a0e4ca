import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { OrchestratorServiceClient } from '@pagemesh/proto';
import {
  checkHealth,
  parseServiceConfig,
  promisifyUnary,
  startService,
  type RunningService,
} from '@pagemesh/service-kit';
import { buildOrchestratorService, FLAGS } from './service';

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
});
