import { credentials } from '@grpc/grpc-js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Errno,
  FaultOutcome,
  VmaManagerServiceClient,
  type StreamSyscallsResponse,
  type Syscall,
} from '@pagemesh/proto';
import { promisifyUnary } from '@pagemesh/service-kit';
import { startLocalStack, type RunningStack } from '../stack/local-stack';
import { distDir } from '../commands/common';
import type { Benchmark } from './benchmark';

/** PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS (include/uapi/asm-generic/mman*.h). */
const PROT_RW = 0x3;
const MAP_PRIVATE_ANON = 0x02 | 0x20;
/** User-mode write to a not-present page: X86_PF_WRITE | X86_PF_USER. */
const WRITE_FAULT = 0x6;
const PAGE = 4096;
/** Syscalls per stream batch and batches in flight. */
const BATCH = 256;
const IN_FLIGHT = 4;
const RUN_MS = 1_000;
/** Faults per HandleFaults call (the service's MAX_FAULTS_PER_BATCH), calls in flight, pages faulted per run. */
const FAULT_BATCH = 4096;
const FAULTS_IN_FLIGHT = 4;
const FAULT_PAGES = 131_072;

let stack: RunningStack | undefined;

async function vmaManager(): Promise<VmaManagerServiceClient> {
  stack ??= await startLocalStack({
    distDir: distDir(),
    logDir: mkdtempSync(join(tmpdir(), 'pagemesh-bench-')),
    basePort: 0,
    only: ['page-allocator', 'mmu', 'device-drivers', 'vma-manager'],
  });
  return new VmaManagerServiceClient(stack.addresses['vma-manager'], credentials.createInsecure());
}

/**
 * mmap + munmap pairs per second through the vma-manager service: one StreamSyscalls stream,
 * batches of 128 pairs, 4 batches in flight. Each pair maps one anonymous page at a fixed
 * address with MAP_FIXED_NOREPLACE and unmaps it, so both calls fit in one batch.
 */
async function mmapMunmapPairs(): Promise<number> {
  const client = await vmaManager();
  const { pid } = await promisifyUnary(client, 'createProcess')({ comm: 'bench-mmap' });
  const base = 0x7e0000000000n;
  /** MAP_FIXED_NOREPLACE (include/uapi/asm-generic/mman-common.h). */
  const MAP_FIXED_NOREPLACE = 0x100000;
  const batch: Syscall[] = [];
  for (let i = 0; i < BATCH / 2; i++) {
    const addr = base + BigInt(i * PAGE);
    batch.push({
      pid,
      call: {
        $case: 'mmap',
        value: {
          addr,
          length: BigInt(PAGE),
          prot: PROT_RW,
          flags: MAP_PRIVATE_ANON | MAP_FIXED_NOREPLACE,
          fd: -1,
          offset: 0n,
        },
      },
    });
    batch.push({ pid, call: { $case: 'munmap', value: { addr, length: BigInt(PAGE) } } });
  }
  const stream = client.streamSyscalls();
  let sent = 0;
  let pairs = 0;
  let inFlight = 0;
  const deadline = performance.now() + RUN_MS;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const send = () => {
      inFlight++;
      stream.write({ batchId: BigInt(sent++), calls: batch });
    };
    stream.on('data', (res: StreamSyscallsResponse) => {
      inFlight--;
      if (res.failure) return reject(new Error(`syscall batch refused: ${res.failure}`));
      const failed = res.results.find((r) => r.errno !== Errno.ERRNO_UNSPECIFIED);
      if (failed) return reject(new Error(`a benchmark syscall failed with ${Errno[failed.errno]}`));
      pairs += res.results.length / 2;
      if (performance.now() < deadline) send();
      else if (inFlight === 0) stream.end();
    });
    stream.on('end', resolve);
    stream.on('error', reject);
    for (let i = 0; i < IN_FLIGHT; i++) send();
  });
  const seconds = (performance.now() - t0) / 1000;
  await promisifyUnary(client, 'exitProcess')({ pid });
  client.close();
  return Math.round(pairs / seconds);
}

/**
 * Write faults handled per second through the vma-manager service, each one allocating a zeroed
 * page and mapping it writable: the 131072 pages (512 MiB) of a fresh anonymous mapping, one write
 * fault per page, sent as a client with many faults to deliver would send them: HandleFaults
 * calls of 4096 faults, 4 calls in flight (the service handles them one after the other, in
 * arrival order). Every fault must come back handled.
 */
async function writeFaults(): Promise<number> {
  const client = await vmaManager();
  const { pid } = await promisifyUnary(client, 'createProcess')({ comm: 'bench-faults' });
  const stream = client.streamSyscalls();
  const mapped = await new Promise<bigint>((resolve, reject) => {
    stream.on('data', (res: StreamSyscallsResponse) => {
      const r = res.results[0];
      if (!r || r.errno !== Errno.ERRNO_UNSPECIFIED) reject(new Error('mmap for the fault benchmark failed'));
      else resolve(r.ret);
      stream.end();
    });
    stream.on('error', reject);
    stream.write({
      batchId: 0n,
      calls: [
        {
          pid,
          call: {
            $case: 'mmap',
            value: {
              addr: 0n,
              length: BigInt(FAULT_PAGES * PAGE),
              prot: PROT_RW,
              flags: MAP_PRIVATE_ANON,
              fd: -1,
              offset: 0n,
            },
          },
        },
      ],
    });
  });
  const handleFaults = promisifyUnary(client, 'handleFaults');
  const requests = Array.from({ length: FAULT_PAGES / FAULT_BATCH }, (_, b) => ({
    faults: Array.from({ length: FAULT_BATCH }, (_, i) => ({
      pid,
      address: mapped + BigInt((b * FAULT_BATCH + i) * PAGE),
      errorCode: WRITE_FAULT,
    })),
  }));
  let next = 0;
  let faults = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < requests.length) {
      const res = await handleFaults(requests[next++]);
      if (res.outcomes.some((o) => o !== FaultOutcome.FAULT_OUTCOME_HANDLED))
        throw new Error('a benchmark write fault was not handled');
      faults += res.outcomes.length;
    }
  };
  await Promise.all(Array.from({ length: FAULTS_IN_FLIGHT }, worker));
  const seconds = (performance.now() - t0) / 1000;
  await promisifyUnary(client, 'exitProcess')({ pid });
  client.close();
  return Math.round(faults / seconds);
}

export const grpcVmaManagerBenchmarks: Benchmark[] = [
  {
    id: 'vma.grpc_mmap_munmap_pairs_per_s',
    unit: 'pairs/s',
    goal: { op: '>=', value: 20_000 },
    run: mmapMunmapPairs,
  },
  {
    id: 'vma.grpc_write_faults_per_s',
    unit: 'faults/s',
    goal: { op: '>=', value: 100_000 },
    run: writeFaults,
  },
];

export async function stopGrpcVmaManagerBench(): Promise<void> {
  await stack?.stop();
  stack = undefined;
}
