import { type Access, Mmu, inprocPageAllocatorPort, vmGetPageProt } from '@pagemesh/mmu';
import { bootMachine } from '@pagemesh/page-allocator';
import { PAGE_SIZE } from '@pagemesh/uapi';

import { DeviceDrivers } from './device-drivers';
import { MMAP_DEV, MY_MAJOR, MY_MINOR, NPAGES } from './drivers/lab-constants';
import { O_RDWR } from './file';
import { inprocDriverPorts } from './inproc-ports';
import { applyRemapRequests } from './remap';
import { VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_READ, VM_SHARED, VM_WRITE } from './vm';

/** One figure: run() measures once and returns it. */
export interface Benchmark {
  readonly id: string;
  readonly unit: string;
  readonly goal?: { readonly op: '>=' | '<='; readonly value: number };
  run(): number | Promise<number>;
}

const USER_VA = 0x7f0000000000;
/** Accesses per accessBatch call: one 8-byte read or write at the start of a page, round-robin. */
const BATCH = 256;

/**
 * The lab's setup in-process (kmmap loaded, /dev/mymmap opened, 16 pages mapped MAP_SHARED
 * read/write through the driver's remap requests), then user accesses through the mapping.
 */
async function setupDeviceMapping(): Promise<{ mmu: Mmu }> {
  const pa = bootMachine({ arch: 'x86_64', memBytes: 128 * 2 ** 20 });
  const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 1 });
  const dd = await DeviceDrivers.create(inprocDriverPorts(pa, mmu));
  await dd.loadModule('kmmap');
  await dd.mknod(MMAP_DEV, MY_MAJOR, MY_MINOR);
  const opened = await dd.open(MMAP_DEV, O_RDWR);
  if (!('file' in opened)) throw new Error(`open ${MMAP_DEV}: ${opened.errno}`);
  const asid = await mmu.createAddressSpace();
  const vmFlags = VM_READ | VM_WRITE | VM_SHARED | VM_MAYREAD | VM_MAYWRITE | VM_MAYSHARE;
  const vma = {
    vmStart: USER_VA,
    vmEnd: USER_VA + NPAGES * PAGE_SIZE,
    vmFlags,
    vmPgoff: 0,
    vmPageProt: vmGetPageProt(vmFlags, mmu.profile.prot),
  };
  const answer = await dd.mmap(opened.file.id, vma);
  if (!('requests' in answer)) throw new Error(`mmap: ${answer.errno}`);
  const outcome = await applyRemapRequests(mmu, asid, vma, answer.requests);
  if (outcome.errno !== null) throw new Error(`remap_pfn_range: ${outcome.errno}`);
  mmu.switchTo(0, asid);
  return { mmu };
}

async function measureAccesses(mmu: Mmu, batches: number): Promise<number> {
  const payload = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  const batch: Access[] = Array.from({ length: BATCH }, (_, i) => {
    const va = USER_VA + (i % NPAGES) * PAGE_SIZE + 8;
    return i % 2 === 0
      ? { cpu: 0, va, op: 'read', user: true, length: 8 }
      : { cpu: 0, va, op: 'write', user: true, data: payload };
  });
  for (let i = 0; i < 300; i++) await mmu.accessBatch(batch); // warm-up (JIT, TLB)
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < batches; i++) {
    const r = await mmu.accessBatch(batch);
    if (r[BATCH - 1].kind !== 'ok')
      throw new Error(`access through the device mapping failed: ${r[BATCH - 1].kind}`);
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return (batches * BATCH) / (ns / 1e9);
}

export const benchmarks: readonly Benchmark[] = [
  {
    id: 'drivers.device_mmap_access_per_s',
    unit: 'accesses/s',
    async run() {
      const { mmu } = await setupDeviceMapping();
      return measureAccesses(mmu, 2000);
    },
  },
];
