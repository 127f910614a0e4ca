import { PAGE_SIZE } from '@pagemesh/uapi';
import type { VaRange } from '@pagemesh/vma-manager';

/**
 * The RW bit of every user PTE a GrpcMmuPort installed, per address space.
 *
 * The vma-manager's fault handler and fork need to know whether a present PTE is writable, and
 * the mmu's wire answers (Pagemap entries, removed PTEs) do not carry that bit; asking with a
 * Walk per page would cost a round trip each. The port is the only writer of its address spaces'
 * user PTEs (the hardware only sets Accessed and Dirty), so it can keep the bit itself: set on
 * MapPages, rewritten on ProtectPages (pte_modify takes RW from the new pgprot, for present and
 * PROT_NONE entries alike), dropped on UnmapPages and DestroyAddressSpace.
 */
export class WritableEntries {
  private readonly spaces = new Map<number, Map<number, boolean>>();

  /** An entry installed (or replaced) at `va`. */
  set(asid: number, va: number, writable: boolean): void {
    this.space(asid).set(va, writable);
  }

  /** Whether the entry at `va` is writable; false when this port installed none there. */
  writable(asid: number, va: number): boolean {
    return this.spaces.get(asid)?.get(va) === true;
  }

  /** ProtectPages over `range`: every entry there becomes `writable`. */
  protect(asid: number, range: VaRange, writable: boolean): void {
    const m = this.space(asid);
    forEachIn(m, range, (va) => m.set(va, writable));
  }

  /** UnmapPages over `range`. */
  forget(asid: number, range: VaRange): void {
    const m = this.space(asid);
    forEachIn(m, range, (va) => m.delete(va));
  }

  /** DestroyAddressSpace. */
  drop(asid: number): void {
    this.spaces.delete(asid);
  }

  /** Entries tracked for `asid`. */
  size(asid: number): number {
    return this.spaces.get(asid)?.size ?? 0;
  }

  private space(asid: number): Map<number, boolean> {
    let m = this.spaces.get(asid);
    if (!m) this.spaces.set(asid, (m = new Map()));
    return m;
  }
}

/** Calls `fn` for each tracked va in [r.start, r.end), walking whichever is smaller: range or map. */
function forEachIn(map: Map<number, boolean>, r: VaRange, fn: (va: number) => void): void {
  const pages = (r.end - r.start) / PAGE_SIZE;
  if (pages <= map.size) {
    for (let va = r.start; va < r.end; va += PAGE_SIZE) if (map.has(va)) fn(va);
  } else {
    for (const va of [...map.keys()]) if (va >= r.start && va < r.end) fn(va);
  }
}
