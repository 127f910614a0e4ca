import { credentials } from '@grpc/grpc-js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceDriversServiceClient, Errno, MmuServiceClient, VmFlag, type Vma } from '@pagemesh/proto';
import { promisifyUnary } from '@pagemesh/service-kit';
import { startLocalStack, type RunningStack } from '../stack/local-stack';
import { distDir } from '../commands/common';
import type { Benchmark } from './benchmark';
import { streamReads } from './access-stream';

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

export const grpcDeviceDriversBenchmarks: Benchmark[] = [
  {
    id: 'drivers.grpc_device_mmap_access_per_s',
    unit: 'accesses/s',
    run: async () => streamReads(await deviceMapping(), DEV_VA, NPAGES * 4096),
  },
];

export async function stopGrpcDeviceDriversBench(): Promise<void> {
  await stack?.stop();
  stack = undefined;
  mmuAddress = undefined;
}
