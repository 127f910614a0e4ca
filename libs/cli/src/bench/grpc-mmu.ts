import { credentials } from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AllocPagesRequest,
  MapPagesRequest,
  MmuServiceClient,
  PageAllocatorServiceClient,
} from '@pagemesh/proto';
import { promisifyUnary } from '@pagemesh/service-kit';
import { startLocalStack, type RunningStack } from '../stack/local-stack';
import { distDir } from '../commands/common';
import type { Benchmark } from './benchmark';
import { streamReads } from './access-stream';

/** 8-byte user reads spread over this many mapped pages. */
const PAGES = 256;
const USER_VA = 0x7e0000000000n;
/** P | RW | US */
const PAGE_RW_USER = 0x7n;

let stack: RunningStack | undefined;
let mmuAddress: string | undefined;
let echo: { process: ChildProcess; address: string } | undefined;
const last: { service?: number; echo?: number } = {};

async function mmuWithMappedPages(): Promise<string> {
  if (mmuAddress) return mmuAddress;
  stack = await startLocalStack({
    distDir: distDir(),
    logDir: mkdtempSync(join(tmpdir(), 'pagemesh-bench-')),
    basePort: 0,
    only: ['page-allocator', 'mmu'],
  });
  const pa = new PageAllocatorServiceClient(stack.addresses['page-allocator'], credentials.createInsecure());
  const mmu = new MmuServiceClient(stack.addresses.mmu, credentials.createInsecure());
  const { pfns } = await promisifyUnary(
    pa,
    'allocPages',
  )(AllocPagesRequest.fromPartial({ gfpMask: 0xcc0, count: PAGES }));
  const { addressSpaceId } = await promisifyUnary(mmu, 'createAddressSpace')({});
  await promisifyUnary(
    mmu,
    'mapPages',
  )(MapPagesRequest.fromPartial({ addressSpaceId, address: USER_VA, pfns, pgprot: PAGE_RW_USER }));
  await promisifyUnary(mmu, 'switchCpu')({ cpu: 0, addressSpaceId });
  pa.close();
  mmu.close();
  mmuAddress = stack.addresses.mmu;
  return mmuAddress;
}

async function echoServer(): Promise<string> {
  if (echo) return echo.address;
  const proc = spawn(process.execPath, [join(distDir(), 'bench', 'echo-server.cjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const address = await new Promise<string>((resolve, reject) => {
    proc.stdout?.on('data', (chunk: Buffer) => {
      const m = /listening on (\S+)/.exec(chunk.toString());
      if (m) resolve(m[1]);
    });
    proc.once('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
  });
  echo = { process: proc, address };
  return address;
}

export const grpcMmuBenchmarks: Benchmark[] = [
  {
    id: 'mmu.grpc_stream_accesses_per_s',
    unit: 'accesses/s',
    run: async () => (last.service = await streamReads(await mmuWithMappedPages(), USER_VA, PAGES * 4096)),
  },
  {
    id: 'mmu.grpc_echo_batch_items_per_s',
    unit: 'items/s',
    run: async () => (last.echo = await streamReads(await echoServer(), USER_VA, PAGES * 4096)),
  },
  {
    // The median runs of the two benchmarks above, measured in this same run.
    id: 'mmu.grpc_stream_to_echo_ratio',
    unit: 'ratio',
    goal: { op: '>=', value: 0.5 },
    run: async () => {
      const service = await streamReads(await mmuWithMappedPages(), USER_VA, PAGES * 4096);
      const baseline = await streamReads(await echoServer(), USER_VA, PAGES * 4096);
      return Number((service / baseline).toFixed(3));
    },
  },
];

export async function stopGrpcMmuBench(): Promise<void> {
  echo?.process.kill('SIGTERM');
  echo = undefined;
  await stack?.stop();
  stack = undefined;
  mmuAddress = undefined;
}
