/**
 * @pagemesh/page-allocator-rpc: the page allocator over gRPC. Server handlers that serve a
 * domain PageAllocator, and the conversions between proto messages and domain values.
 */
export { pageAllocatorHandlers, MAX_BATCH, MAX_GET_PAGES } from './server';
export { toNumber, toNumbers, toBigints, checkBatch } from './wire';
export { pageAllocatorServiceOptions } from './service-options';
export { PageOpsStream } from './page-ops-stream';
