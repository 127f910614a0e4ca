import type { PhysOp } from '@pagemesh/mmu';
import type {
  PageAllocatorServiceClient,
  StreamTransferPhysRequest,
  StreamTransferPhysResponse,
} from '@pagemesh/proto';
import { BatchStreamClient } from '@pagemesh/service-kit';

/**
 * The mmu's data path to RAM: one StreamTransferPhys stream to the page allocator. Batches are
 * answered in the order they were sent, so the reads and writes of consecutive access batches
 * keep their order without waiting for each other: the stream is what lets access batches
 * pipeline across the boundary (ordering, rotation and failures are the kit's BatchStreamClient).
 */
export class TransferStream {
  private readonly stream: BatchStreamClient<StreamTransferPhysRequest, StreamTransferPhysResponse>;

  constructor(client: PageAllocatorServiceClient) {
    this.stream = new BatchStreamClient('page allocator transfer stream', (options) =>
      client.streamTransferPhys(options),
    );
  }

  async transfer(ops: readonly PhysOp[]): Promise<Uint8Array[]> {
    const res = await this.stream.send((batchId) => ({
      batchId,
      ops: ops.map((o) =>
        o.op === 'read'
          ? { op: { $case: 'read' as const, value: { paddr: BigInt(o.paddr), length: o.length } } }
          : {
              op: {
                $case: 'write' as const,
                value: {
                  paddr: BigInt(o.paddr),
                  data: Buffer.from(o.bytes.buffer, o.bytes.byteOffset, o.bytes.byteLength),
                },
              },
            },
      ),
    }));
    return res.data;
  }

  close(): void {
    this.stream.close();
  }
}
