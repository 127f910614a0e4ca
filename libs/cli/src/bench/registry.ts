import { benchmarks as pageAllocatorBenchmarks } from '@pagemesh/page-allocator';
import type { Benchmark } from './benchmark';
import { grpcPageAllocatorBenchmarks, stopGrpcPageAllocatorBench } from './grpc-page-allocator';
import { wireBenchmarks } from './wire';
import { vmaInprocBenchmarks } from './vma-inproc';
import { grpcVmaManagerBenchmarks, stopGrpcVmaManagerBench } from './grpc-vma-manager';
import { grpcMmuBenchmarks, stopGrpcMmuBench } from './grpc-mmu';
import { benchmarks as mmuBenchmarks } from '@pagemesh/mmu';
import { benchmarks as vmaBenchmarks } from '@pagemesh/vma-manager';
import { benchmarks as deviceDriversBenchmarks } from '@pagemesh/device-drivers';
import { grpcDeviceDriversBenchmarks, stopGrpcDeviceDriversBench } from './grpc-device-drivers';
import { replayBenchmarks } from './replay';

/**
 * Every benchmark `pagemesh bench` knows, in the order it runs them. Domain libraries export
 * their in-process benchmarks; the ones that need services running live beside the CLI.
 */
export function allBenchmarks(): Benchmark[] {
  return [
    ...pageAllocatorBenchmarks,
    ...grpcPageAllocatorBenchmarks,
    ...mmuBenchmarks,
    ...grpcMmuBenchmarks,
    ...deviceDriversBenchmarks,
    ...grpcDeviceDriversBenchmarks,
    ...vmaBenchmarks,
    ...vmaInprocBenchmarks,
    ...grpcVmaManagerBenchmarks,
    ...wireBenchmarks,
    ...replayBenchmarks,
  ];
}

/** Stops whatever the benchmarks started (service processes). */
export async function stopBenchmarks(): Promise<void> {
  await stopGrpcPageAllocatorBench();
  await stopGrpcMmuBench();
  await stopGrpcVmaManagerBench();
  await stopGrpcDeviceDriversBench();
}
