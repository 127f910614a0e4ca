import { status, type ServerUnaryCall } from '@grpc/grpc-js';
import {
  PageAllocatorServiceClient,
  PageAllocatorServiceService,
  protoFile,
  protoIncludeDir,
  AllocPagesRequest,
  type AllocPagesResponse,
} from '@pagemesh/proto';
import { ClientPool } from './client-pool';
import { DomainError } from './domain-errors';
import { checkHealth } from './health-client';
import { promisifyUnary } from './promisify-unary';
import { parseServiceConfig } from './service-config';
import { startService } from './start-service';
import { listServicesByReflection } from './testing/reflection-client';

/** MAX_PAGE_ORDER in Linux 6.8+ (include/linux/mmzone.h). */
const MAX_PAGE_ORDER = 10;

// The shape the apps use: ts-proto definitions, an async handler that returns its response.
const implementation = {
  async allocPages(
    call: ServerUnaryCall<AllocPagesRequest, AllocPagesResponse>,
  ): Promise<AllocPagesResponse> {
    const { order } = call.request;
    if (order > MAX_PAGE_ORDER) {
      throw new DomainError('invalid-argument', `order ${order} exceeds MAX_PAGE_ORDER ${MAX_PAGE_ORDER}`, {
        field: 'order',
        value: order,
      });
    }
    return { pfns: [0xfffff_fffffn], errno: 0 };
  },
};

describe('a ts-proto service on the kit', () => {
  it('serves generated definitions with health, reflection over the real protos, and typed promise clients', async () => {
    await using service = await startService({
      name: 'page-allocator',
      protoFiles: [protoFile('pageAllocator')],
      includeDirs: [protoIncludeDir()],
      services: [{ definition: PageAllocatorServiceService, implementation }],
      config: { ...parseServiceConfig('page-allocator', { argv: [], env: {} }), metricsPort: null },
    });
    expect(await checkHealth(service.address, 'pagemesh.v1.PageAllocatorService')).toBe('SERVING');
    expect(await listServicesByReflection(service.address)).toContain('pagemesh.v1.PageAllocatorService');

    using pool = new ClientPool();
    const client = pool.client(service.address, PageAllocatorServiceClient);
    const allocPages = promisifyUnary(client, 'allocPages');
    const response: AllocPagesResponse = await allocPages(
      AllocPagesRequest.fromPartial({ gfpMask: 0xcc0, order: 0, count: 1 }),
    );
    expect(response.pfns).toEqual([0xfffff_fffffn]);

    await expect(
      allocPages(AllocPagesRequest.fromPartial({ gfpMask: 0xcc0, order: 11, count: 1 })),
    ).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'order 11 exceeds MAX_PAGE_ORDER 10',
    });
    // A method the implementation lacks is UNIMPLEMENTED, not a crash.
    await expect(promisifyUnary(client, 'getMachine')({})).rejects.toMatchObject({
      code: status.UNIMPLEMENTED,
    });
  });
});
