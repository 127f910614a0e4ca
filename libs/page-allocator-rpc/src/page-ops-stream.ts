import type {
  PageAllocatorServiceClient,
  PageOp,
  PageOpResult,
  StreamPageOpsRequest,
  StreamPageOpsResponse,
} from '@pagemesh/proto';
import { BatchRefusedError, BatchStreamClient, DomainError } from '@pagemesh/service-kit';

/**
 * Page operations (allocations, frees, reference changes) of one client on one StreamPageOps
 * stream (the kit's BatchStreamClient: opened on first use, answered in order, rotated before its
 * deadline, closed when idle): a batch is a message on a stream already open, where a unary call
 * is a new HTTP/2 stream with its headers and trailers, and the page allocator's hottest callers
 * (the fault path, page-table allocation) make one for every few hundred pages. A refused op
 * fails its batch with a failed-precondition DomainError (the ops before it took effect, as
 * StreamPageOps says).
 */
export class PageOpsStream {
  private readonly batches: BatchStreamClient<StreamPageOpsRequest, StreamPageOpsResponse>;

  constructor(client: PageAllocatorServiceClient) {
    this.batches = new BatchStreamClient('page allocator', (options) => client.streamPageOps(options));
  }

  /** Runs `ops` in order as one batch; their results, in order. */
  async run(ops: PageOp[]): Promise<PageOpResult[]> {
    try {
      return (await this.batches.send((batchId) => ({ batchId, ops }))).results;
    } catch (err) {
      if (err instanceof BatchRefusedError)
        throw new DomainError('failed-precondition', `page allocator refused a page op: ${err.failure}`, {
          field: 'ops',
        });
      throw err;
    }
  }

  close(): void {
    this.batches.close();
  }
}
