/**
 * The machine's shmem objects (shared anonymous memory) with their lifetime. MmProcess keeps an
 * object's pages in a ShmemCache, one reference each, and never drops that reference: in Linux it
 * goes when the object's last VMA is closed (the file's last fput → shmem_evict_inode →
 * shmem_truncate_range). This cache records what MmProcess stores so that the process table can
 * do that: after each request, the pages of objects no VMA of a live process maps any more are
 * put back.
 */
import { ShmemCache } from '../process';
import type { PageAllocatorPort } from '../ports';
import type { VmFile } from '../vma';

export class ShmemObjects extends ShmemCache {
  private readonly objects = new Map<VmFile, Map<number, number>>();

  override get(file: VmFile, index: number): number | undefined {
    return this.objects.get(file)?.get(index);
  }

  override set(file: VmFile, index: number, pfn: number): void {
    let pages = this.objects.get(file);
    if (!pages) this.objects.set(file, (pages = new Map()));
    pages.set(index, pfn);
  }

  /** Objects holding pages. */
  get size(): number {
    return this.objects.size;
  }

  /**
   * Drops the cache's reference to every page of the objects `live` does not name (so they go
   * back to the page allocator once no PTE maps them); returns how many pages that was.
   */
  async release(live: ReadonlySet<VmFile>, pages: PageAllocatorPort): Promise<number> {
    const pfns: number[] = [];
    for (const [file, byIndex] of this.objects) {
      if (live.has(file)) continue;
      pfns.push(...byIndex.values());
      this.objects.delete(file);
    }
    if (pfns.length) await pages.putPages(pfns);
    return pfns.length;
  }
}
