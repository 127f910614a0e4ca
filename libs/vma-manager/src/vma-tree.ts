import type { Vma } from './vma';

/**
 * The VMAs of one mm, sorted by address and disjoint (the kernel's maple tree, mm->mm_mt).
 *
 * A sorted array with binary search: lookups (find_vma, vma_lookup, find_vma_intersection) are
 * O(log n); inserting or removing k VMAs at index i is one splice, an O(n) memmove of pointers.
 * With max_map_count = 65530 that memmove is at most 512 KiB and usually a few hundred bytes,
 * which in V8 is cheaper than the pointer chasing and rebalancing of a balanced tree for the
 * sizes that occur; every syscall touches O(1 + VMAs in its range) entries besides it.
 */
export class VmaTree {
  private readonly vmas: Vma[] = [];

  get size(): number {
    return this.vmas.length;
  }

  at(i: number): Vma | undefined {
    return this.vmas[i];
  }

  /** The VMA at index i, which must exist. */
  get(i: number): Vma {
    const v = this.vmas[i];
    if (!v) throw new RangeError(`no VMA at index ${i} of ${this.vmas.length}`);
    return v;
  }

  /** All VMAs in address order (a read-only view; do not mutate). */
  all(): readonly Vma[] {
    return this.vmas;
  }

  /** Index of the first VMA with end > addr (find_vma's answer), or size if none. */
  indexAfter(addr: number): number {
    let lo = 0;
    let hi = this.vmas.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.vmas[mid].end > addr) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** find_vma: the first VMA with vm_end > addr (may start above addr). */
  findVma(addr: number): Vma | undefined {
    return this.vmas[this.indexAfter(addr)];
  }

  /** vma_lookup: the VMA containing addr. */
  lookup(addr: number): Vma | undefined {
    const v = this.vmas[this.indexAfter(addr)];
    return v && v.start <= addr ? v : undefined;
  }

  /** find_vma_intersection: the first VMA overlapping [start, end). */
  findIntersection(start: number, end: number): Vma | undefined {
    if (start >= end) return undefined;
    const v = this.vmas[this.indexAfter(start)];
    return v && v.start < end ? v : undefined;
  }

  /** The VMA just before index i, or undefined. */
  prevOf(i: number): Vma | undefined {
    return i > 0 ? this.vmas[i - 1] : undefined;
  }

  indexOf(vma: Vma): number {
    const i = this.indexAfter(vma.start);
    if (this.vmas[i] !== vma) throw new Error(`VMA ${vma.start.toString(16)} is not in the tree`);
    return i;
  }

  /** Inserts a VMA that overlaps none; returns its index. */
  insert(vma: Vma): number {
    const i = this.indexAfter(vma.start);
    this.vmas.splice(i, 0, vma);
    return i;
  }

  /** Removes `count` VMAs at index i. */
  removeAt(i: number, count = 1): void {
    this.vmas.splice(i, count);
  }

  /** Inserts `vma` at index i (it must sort there and overlap nothing). */
  insertAt(i: number, vma: Vma): void {
    this.vmas.splice(i, 0, vma);
  }

  remove(vma: Vma): void {
    this.vmas.splice(this.indexOf(vma), 1);
  }

  clear(): void {
    this.vmas.length = 0;
  }
}
