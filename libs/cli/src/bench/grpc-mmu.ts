import { credentials } from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AccessOp,
  AllocPagesRequest,
  MapPagesRequest,
  MmuServiceClient,
  PageAllocatorServiceClient,
  type Access,
  type StreamAccessesResponse,
} from '@pagemesh/proto';
import { promisifyUnary } from '@pagemesh/service-kit';
import { startLocalStack, type RunningStack } from '../stack/local-stack';
import { distDir } from '../commands/common';
import type { Benchmark } from './benchmark';

/** Accesses per batch and batches in flight: the same for the service and the echo baseline. */
const BATCH = 256;
const IN_FLIGHT = 8;
const RUN_MS = 1_000;
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

function batchOfReads(seq: number): Access[] {
  return Array.from({ length: BATCH }, (_, i) => ({
    cpu: 0,
    address: USER_VA + BigInt((((seq * BATCH + i) * 64) % (PAGES * 4096)) & ~7),
    op: AccessOp.ACCESS_OP_READ,
    user: true,
    length: 8,
    data: Buffer.alloc(0),
  }));
}

/** Streams batches of 256 reads, 8 in flight, for about a second; accesses answered per second. */
async function streamAccesses(address: string): Promise<number> {
  const client = new MmuServiceClient(address, credentials.createInsecure());
  const stream = client.streamAccesses();
  let sent = 0;
  let answered = 0;
  let inFlight = 0;
  const deadline = performance.now() + RUN_MS;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const send = () => {
      inFlight++;
      stream.write({ batchId: BigInt(sent), accesses: batchOfReads(sent++) });
    };
    stream.on('data', (res: StreamAccessesResponse) => {
      inFlight--;
      if (res.failure) return reject(new Error(`access batch refused: ${res.failure}`));
      if (res.results.some((r) => r.result?.$case !== 'data'))
        return reject(new Error('an access of the benchmark faulted'));
      answered += res.results.length;
      if (performance.now() < deadline) send();
      else if (inFlight === 0) stream.end();
    });
    stream.on('end', resolve);
    stream.on('error', reject);
    for (let i = 0; i < IN_FLIGHT; i++) send();
  });
  client.close();
  return Math.round(answered / ((performance.now() - t0) / 1000));
}

export const grpcMmuBenchmarks: Benchmark[] = [
  {
    id: 'mmu.grpc_stream_accesses_per_s',
    unit: 'accesses/s',
    run: async () => (last.service = await streamAccesses(await mmuWithMappedPages())),
  },
  {
    id: 'mmu.grpc_echo_batch_items_per_s',
    unit: 'items/s',
    run: async () => (last.echo = await streamAccesses(await echoServer())),
  },
  {
    // The median runs of the two benchmarks above, measured in this same run.
    id: 'mmu.grpc_stream_to_echo_ratio',
    unit: 'ratio',
    goal: { op: '>=', value: 0.5 },
    run: async () => {
      const service = await streamAccesses(await mmuWithMappedPages());
      const baseline = await streamAccesses(await echoServer());
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
