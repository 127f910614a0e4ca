import { PROT_X86, PROT_X86_64, type Pgprot } from '@pagemesh/mmu';
import { PAGE_SIZE } from '@pagemesh/uapi';

import { FailedPreconditionError } from '../errors';
import type { DriverMemory, KernelServices, ModuleDefinition } from '../module';
import type { DriverVma, MmapResult, RemapRequest } from '../vm';

import { NPAGES } from './lab-constants';
import { LabDriver } from './lab-driver';

/** vmalloc(NPAGES * PAGE_SIZE). */
export const VMMAP_VMALLOC_SIZE = NPAGES * PAGE_SIZE;

/**
 * The lab's vmmap: a vmalloc'd area (virtually contiguous only), mapped page by page with
 * vmalloc_to_pfn and PAGE_SHARED, whatever the VMA's protection.
 */
export class VmmapDriver extends LabDriver {
  private vmallocArea = 0;
  private pageShared: Pgprot | null = null;

  constructor() {
    super('vmmap');
  }

  protected async allocate(k: KernelServices): Promise<readonly number[] | null> {
    const area = await k.ports.mmu.vmalloc(VMMAP_VMALLOC_SIZE);
    if (area === null) return null;
    const pfns = await k.ports.mmu.vmallocToPfns(area, NPAGES);
    if (pfns.some((p) => p === null)) {
      await k.ports.mmu.vfree(area);
      throw new FailedPreconditionError('vmalloc_area', area, 'vmalloc returned an area with unmapped pages');
    }
    this.vmallocArea = area;
    this.pageShared = (k.arch === 'x86_64' ? PROT_X86_64 : PROT_X86).PAGE_SHARED;
    return pfns as number[];
  }

  protected async freeArea(k: KernelServices): Promise<void> {
    await k.ports.mmu.vfree(this.vmallocArea);
    this.vmallocArea = 0;
  }

  /** my_mmap: -EIO beyond NPAGES pages; else one remap_pfn_range(vma, start, vmalloc_to_pfn(p), PAGE_SIZE, PAGE_SHARED) per page. */
  protected mapRequests(vma: DriverVma): MmapResult {
    let length = vma.vmEnd - vma.vmStart;
    if (length > NPAGES * PAGE_SIZE) return { errno: 'EIO' };
    const requests: RemapRequest[] = [];
    let start = vma.vmStart;
    for (let i = 0; length > 0; i++) {
      requests.push({
        addr: start,
        pfn: this.area.pfns[i],
        size: PAGE_SIZE,
        pgprot: this.pageShared as Pgprot,
      });
      start += PAGE_SIZE;
      length -= PAGE_SIZE;
    }
    return { requests };
  }

  memory(): DriverMemory | null {
    if (!this.buffer) return null;
    return {
      source: 'vmalloc',
      allocation: this.vmallocArea,
      allocationArg: VMMAP_VMALLOC_SIZE,
      kaddr: this.vmallocArea,
      pfns: this.buffer.pfns,
    };
  }
}

export const vmmapModule: ModuleDefinition = {
  name: 'vmmap',
  description:
    'simple mmap driver: vmalloc area mapped page by page with vmalloc_to_pfn (memory_mapping lab, exercise 2)',
  params: [],
  instantiate: () => new VmmapDriver(),
};
