import { credentials } from '@grpc/grpc-js';
import { bootMachine, GFP } from '@pagemesh/page-allocator';
import { AllocPagesRequest, PageAllocatorServiceClient, PageRefOp } from '@pagemesh/proto';
import { ephemeralServiceConfig, startService } from '@pagemesh/service-kit';
import { PageOpsStream } from './page-ops-stream';
import { pageAllocatorServiceOptions } from './service-options';

describe('PageOpsStream', () => {
  it('runs batches in order on one stream, and fails a batch with a refused op', async () => {
    const pa = bootMachine({ memBytes: 64 * 2 ** 20 });
    const service = await startService(
      pageAllocatorServiceOptions(pa, ephemeralServiceConfig('page-allocator')),
    );
    const client = new PageAllocatorServiceClient(service.address, credentials.createInsecure());
    const ops = new PageOpsStream(client);
    try {
      const alloc = {
        op: {
          $case: 'alloc' as const,
          value: AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, count: 2 }),
        },
      };
      // two batches in flight at once: answered in order
      const [a, b] = await Promise.all([ops.run([alloc]), ops.run([alloc])]);
      const pfns = [a, b].flatMap((r) => (r[0].result?.$case === 'alloc' ? r[0].result.value.pfns : []));
      expect(new Set(pfns).size).toBe(4);
      const put = { op: { $case: 'refs' as const, value: { op: PageRefOp.PAGE_REF_OP_PUT, pfns } } };
      const [freed] = await ops.run([put]);
      expect(freed.result?.$case === 'refs' && freed.result.value.freedPfns).toEqual(pfns);
      // a second put of free pages: refused
      await expect(ops.run([alloc, put])).rejects.toMatchObject({ kind: 'failed-precondition' });
      // the stream goes on
      expect(await ops.run([alloc])).toHaveLength(1);
    } finally {
      ops.close();
      client.close();
      await service.shutdown();
    }
  });
});
