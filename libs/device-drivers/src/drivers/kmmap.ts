import { GFP } from '@pagemesh/page-allocator';
import { PAGE_SIZE, pageAlign } from '@pagemesh/uapi';

import type { DriverMemory, KernelServices, ModuleDefinition } from '../module';
import type { DriverVma, MmapResult } from '../vm';

import { NPAGES } from './lab-constants';
import { LabDriver } from './lab-driver';

/** kmalloc((NPAGES + 2) * PAGE_SIZE): 73728 bytes, above KMALLOC_MAX_CACHE_SIZE, so an order-5 page allocation. */
export const KMMAP_KMALLOC_SIZE = (NPAGES + 2) * PAGE_SIZE;

/**
 * The lab's kmmap: a kmalloc'd area, PAGE_ALIGNed, 16 pages reserved and patterned, mapped with one
 * remap_pfn_range over the whole VMA with the VMA's own protection.
 */
export class KmmapDriver extends LabDriver {
  private kmallocPtr = 0;
  private kmallocArea = 0;

  constructor() {
    super('kmmap');
  }

  protected async allocate(k: KernelServices): Promise<readonly number[] | null> {
    const pa = k.ports.pageAllocator;
    const ptr = await pa.kmalloc(KMMAP_KMALLOC_SIZE, GFP.KERNEL);
    if (ptr === null) return null;
    this.kmallocPtr = ptr;
    this.kmallocArea = pageAlign(ptr);
    return pa.virtToPfns(Array.from({ length: NPAGES }, (_, i) => this.kmallocArea + i * PAGE_SIZE));
  }

  protected async freeArea(k: KernelServices): Promise<void> {
    // kfree the pointer kmalloc returned, not the aligned area
    await k.ports.pageAllocator.kfree(this.kmallocPtr);
    this.kmallocPtr = 0;
    this.kmallocArea = 0;
  }

  /** my_mmap: -EIO beyond NPAGES pages; else remap_pfn_range(vma, vm_start, virt_to_phys(area) >> PAGE_SHIFT, length, vm_page_prot). */
  protected mapRequests(vma: DriverVma): MmapResult {
    const length = vma.vmEnd - vma.vmStart;
    if (length > NPAGES * PAGE_SIZE) return { errno: 'EIO' };
    return {
      requests: [{ addr: vma.vmStart, pfn: this.area.pfns[0], size: length, pgprot: vma.vmPageProt }],
    };
  }

  memory(): DriverMemory | null {
    if (!this.buffer) return null;
    return {
      source: 'kmalloc',
      allocation: this.kmallocPtr,
      allocationArg: KMMAP_KMALLOC_SIZE,
      kaddr: this.kmallocArea,
      pfns: this.buffer.pfns,
    };
  }
}

export const kmmapModule: ModuleDefinition = {
  name: 'kmmap',
  description:
    'simple mmap driver: kmalloc area mapped with one remap_pfn_range (memory_mapping lab, exercise 1)',
  params: [],
  instantiate: () => new KmmapDriver(),
};
