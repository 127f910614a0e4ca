import { credentials } from '@grpc/grpc-js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AccessOp,
  DeviceDriversServiceClient,
  Errno,
  MmuServiceClient,
  VmFlag,
  type Access,
  type StreamAccessesResponse,
  type Vma,
} from '@pagemesh/proto';
import { promisifyUnary } from '@pagemesh/service-kit';
import { startLocalStack, type RunningStack } from '../stack/local-stack';
import { distDir } from '../commands/common';
import type { Benchmark } from './benchmark';

/** Accesses per batch and batches in flight: as mmu.grpc_stream_accesses_per_s measures. */
const BATCH = 256;
const IN_FLIGHT = 8;
const RUN_MS = 1_000;
/** The lab drivers' NPAGES, their major and /dev node (kernel-labs memory_mapping). */
const NPAGES = 16;
const DEV = { path: '/dev/mymmap', major: 42, minor: 0 };
const O_RDWR = 2;
const DEV_VA = 0x7f5500000000n;
/** vm_get_page_prot(VM_READ | VM_WRITE | VM_SHARED) on x86_64: PAGE_SHARED = P | RW | US | A | NX. */
const PAGE_SHARED = 0x8000000000000027n;

let stack: RunningStack | undefined;
let mmuAddress: string | undefined;

function check(what: string, errno: Errno): void {
  if (errno !== Errno.ERRNO_UNSPECIFIED) throw new Error(`${what}: ${Errno[errno]}`);
}

/**
 * mmap-test's setup over the services: insmod kmmap, mknod /dev/mymmap, open it, mmap 16 pages
 * MAP_SHARED read/write (the driver's remap request applied through the mmu into a new address
 * space), CPU 0 switched to it. Returns the mmu's address; the stack stays up for the runs.
 */
async function deviceMapping(): Promise<string> {
  if (mmuAddress) return mmuAddress;
  stack = await startLocalStack({
    distDir: distDir(),
    logDir: mkdtempSync(join(tmpdir(), 'pagemesh-bench-')),
    basePort: 0,
    only: ['page-allocator', 'mmu', 'device-drivers'],
  });
  const dd = new DeviceDriversServiceClient(stack.addresses['device-drivers'], credentials.createInsecure());
  const mmu = new MmuServiceClient(stack.addresses.mmu, credentials.createInsecure());
  try {
    check('insmod kmmap', (await promisifyUnary(dd, 'loadModule')({ name: 'kmmap', params: {} })).errno);
    check(`mknod ${DEV.path}`, (await promisifyUnary(dd, 'mknod')(DEV)).errno);
    const opened = await promisifyUnary(dd, 'open')({ path: DEV.path, flags: O_RDWR });
    check(`open ${DEV.path}`, opened.errno);
    const vma: Vma = {
      vmStart: DEV_VA,
      vmEnd: DEV_VA + BigInt(NPAGES * 4096),
      vmFlags: [
        VmFlag.VM_FLAG_READ,
        VmFlag.VM_FLAG_WRITE,
        VmFlag.VM_FLAG_SHARED,
        VmFlag.VM_FLAG_MAYREAD,
        VmFlag.VM_FLAG_MAYWRITE,
        VmFlag.VM_FLAG_MAYSHARE,
      ],
      vmPgoff: 0n,
      backing: undefined,
    };
    const fileId = opened.file?.id ?? 0n;
    const mapped = await promisifyUnary(dd, 'mmap')({ fileId, vma, vmPageProt: PAGE_SHARED });
    check('mmap', mapped.errno);
    await promisifyUnary(dd, 'getFile')({ fileIds: [fileId] }); // the VMA's reference
    const { addressSpaceId } = await promisifyUnary(mmu, 'createAddressSpace')({});
    for (const request of mapped.requests)
      check(
        'remap_pfn_range',
        (await promisifyUnary(mmu, 'remapPfnRange')({ ...request, addressSpaceId })).errno,
      );
    await promisifyUnary(mmu, 'switchCpu')({ cpu: 0, addressSpaceId });
  } finally {
    dd.close();
    mmu.close();
  }
  mmuAddress = stack.addresses.mmu;
  return mmuAddress;
}

/** 8-byte user reads spread over the device mapping's 16 pages. */
function batchOfReads(seq: number): Access[] {
  return Array.from({ length: BATCH }, (_, i) => ({
    cpu: 0,
    address: DEV_VA + BigInt((((seq * BATCH + i) * 64) % (NPAGES * 4096)) & ~7),
    op: AccessOp.ACCESS_OP_READ,
    user: true,
    length: 8,
    data: Buffer.alloc(0),
  }));
}

/** Streams batches of 256 reads, 8 in flight, for about a second; accesses answered per second. */
async function streamReads(address: string): Promise<number> {
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
        return reject(new Error('a read through the device mapping faulted'));
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

export const grpcDeviceDriversBenchmarks: Benchmark[] = [
  {
    id: 'drivers.grpc_device_mmap_access_per_s',
    unit: 'accesses/s',
    run: async () => streamReads(await deviceMapping()),
  },
];

export async function stopGrpcDeviceDriversBench(): Promise<void> {
  await stack?.stop();
  stack = undefined;
  mmuAddress = undefined;
}
