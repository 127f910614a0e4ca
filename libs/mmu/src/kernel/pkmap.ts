/**
 * Persistent kmap slots (mm/highmem.c): pkmap_count[] per slot is 0 when the slot is free and
 * its PTE cleared, 1 when free but still mapped (flushed lazily when the search wraps around),
 * and n > 1 when mapped with n - 1 users. A page keeps its PKMAP address (page_address) until
 * that lazy flush.
 */
export class Pkmap {
  readonly count: Int32Array;
  readonly pfnOf: Int32Array;
  private readonly slotOfPfn = new Map<number, number>();
  private lastPkmapNr = 0;

  constructor(readonly slots: number) {
    this.count = new Int32Array(slots);
    this.pfnOf = new Int32Array(slots).fill(-1);
  }

  slotOf(pfn: number): number | undefined {
    return this.slotOfPfn.get(pfn);
  }

  /**
   * map_new_virtual's search: the next slot with count 0 after the last one used. When the
   * search wraps to 0, `flushZero` first clears every count-1 slot (flush_all_zero_pkmaps).
   * Returns -1 when every slot is in use (the kernel would sleep).
   */
  findFree(flushZero: () => void): number {
    let count = this.slots;
    for (;;) {
      this.lastPkmapNr = (this.lastPkmapNr + 1) % this.slots;
      if (this.lastPkmapNr === 0) {
        flushZero();
        count = this.slots; // a full round after the flush before giving up
      }
      if (this.count[this.lastPkmapNr] === 0) return this.lastPkmapNr;
      if (--count === 0) return -1;
    }
  }

  /** Slots with count 1 (free, still mapped); the caller clears their PTEs then calls release. */
  zeroSlots(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.slots; i++) if (this.count[i] === 1) out.push(i);
    return out;
  }

  occupy(slot: number, pfn: number): void {
    this.count[slot] = 1;
    this.pfnOf[slot] = pfn;
    this.slotOfPfn.set(pfn, slot);
  }

  release(slot: number): void {
    this.slotOfPfn.delete(this.pfnOf[slot]);
    this.count[slot] = 0;
    this.pfnOf[slot] = -1;
  }
}
