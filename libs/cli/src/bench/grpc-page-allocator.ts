import { credentials } from '@grpc/grpc-js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AllocPagesRequest,
  FreePagesRequest,
  PageAllocatorServiceClient,
  type StreamPageOpsResponse,
} from '@pagemesh/proto';
import { promisifyUnary } from '@pagemesh/service-kit';
import { startLocalStack, type RunningStack } from '../stack/local-stack';
import { distDir } from '../commands/common';
import type { Benchmark } from './benchmark';

/** GFP_KERNEL (include/linux/gfp_types.h). */
const GFP_KERNEL = 0xcc0;
/** Pages per batch, and batches kept in flight on the stream. */
const BATCH_PAGES = 256;
const IN_FLIGHT = 8;
/** Each run streams for about this long. */
const RUN_MS = 1_000;

let stack: RunningStack | undefined;

async function service(): Promise<string> {
  stack ??= await startLocalStack({
    distDir: distDir(),
    logDir: mkdtempSync(join(tmpdir(), 'pagemesh-bench-')),
    basePort: 0,
    only: ['page-allocator'],
    serviceArgs: { 'page-allocator': ['--mem=4G'] },
  });
  return stack.addresses['page-allocator'];
}

/**
 * Order-0 pages allocated and freed per second through the page-allocator service running as
 * its own process: one StreamPageOps stream, batches of 256 pages, 8 batches in flight. Each
 * batch frees the pages its slot got last time and allocates 256 more.
 */
async function grpcBatchPages(): Promise<number> {
  const client = new PageAllocatorServiceClient(await service(), credentials.createInsecure());
  const stream = client.streamPageOps();
  const slots: bigint[][] = Array.from({ length: IN_FLIGHT }, () => []);
  let next = 0n;
  let pages = 0;
  const deadline = performance.now() + RUN_MS;
  const t0 = performance.now();
  const pending = new Map<bigint, number>();
  await new Promise<void>((resolve, reject) => {
    const send = (slot: number) => {
      const id = next++;
      pending.set(id, slot);
      const free = slots[slot].length
        ? [
            {
              op: {
                $case: 'free' as const,
                value: FreePagesRequest.fromPartial({ pfns: slots[slot], order: 0 }),
              },
            },
          ]
        : [];
      stream.write({
        batchId: id,
        ops: [
          ...free,
          {
            op: {
              $case: 'alloc' as const,
              value: AllocPagesRequest.fromPartial({ gfpMask: GFP_KERNEL, order: 0, count: BATCH_PAGES }),
            },
          },
        ],
      });
    };
    stream.on('data', (res: StreamPageOpsResponse) => {
      const slot = pending.get(res.batchId) as number;
      pending.delete(res.batchId);
      if (res.failure) return reject(new Error(`page-allocator refused a benchmark batch: ${res.failure}`));
      const alloc = res.results[res.results.length - 1]?.result;
      slots[slot] = alloc?.$case === 'alloc' ? alloc.value.pfns : [];
      pages += BATCH_PAGES;
      if (performance.now() < deadline) send(slot);
      else if (pending.size === 0) stream.end();
    });
    stream.on('end', resolve);
    stream.on('error', reject);
    for (let s = 0; s < IN_FLIGHT; s++) send(s);
  });
  const seconds = (performance.now() - t0) / 1000;
  // Give back what the last batches allocated, so every run starts from the same free lists.
  const leftover = slots.flat();
  if (leftover.length) {
    await promisifyUnary(client, 'freePages')(FreePagesRequest.fromPartial({ pfns: leftover, order: 0 }));
  }
  client.close();
  return Math.round(pages / seconds);
}

export const grpcPageAllocatorBenchmarks: Benchmark[] = [
  {
    id: 'allocator.grpc_batch_pages_per_s',
    unit: 'pages/s',
    goal: { op: '>=', value: 300_000 },
    run: grpcBatchPages,
  },
];

/** Stops the service the benchmarks started, if any. */
export async function stopGrpcPageAllocatorBench(): Promise<void> {
  await stack?.stop();
  stack = undefined;
}
