import { PAGE_SIZE } from '@pagemesh/uapi';

import type { DriverPageAllocatorPort, PhysRange } from '../ports';

/**
 * A driver's buffer named by its pages: byte offsets become physical ranges (merged where pages
 * are contiguous), so kernel-side copies to and from it go through the page allocator's RAM.
 */
export class PageBuffer {
  constructor(
    readonly pfns: readonly number[],
    private readonly pa: DriverPageAllocatorPort,
  ) {}

  get size(): number {
    return this.pfns.length * PAGE_SIZE;
  }

  ranges(offset: number, length: number): PhysRange[] {
    const out: { paddr: number; length: number }[] = [];
    for (let cur = offset; cur < offset + length;) {
      const page = Math.floor(cur / PAGE_SIZE);
      const n = Math.min(offset + length - cur, PAGE_SIZE - (cur % PAGE_SIZE));
      const paddr = this.pfns[page] * PAGE_SIZE + (cur % PAGE_SIZE);
      const prev = out[out.length - 1];
      if (prev && prev.paddr + prev.length === paddr) prev.length += n;
      else out.push({ paddr, length: n });
      cur += n;
    }
    return out;
  }

  /** memcpy out of the buffer. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const parts = await this.pa.readPhys(this.ranges(offset, length));
    if (parts.length === 1) return parts[0];
    const out = new Uint8Array(length);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** memcpy into the buffer. */
  async write(offset: number, bytes: Uint8Array): Promise<void> {
    let at = 0;
    const writes = this.ranges(offset, bytes.length).map((r) => {
      const w = { paddr: r.paddr, bytes: bytes.subarray(at, at + r.length) };
      at += r.length;
      return w;
    });
    if (writes.length > 0) await this.pa.writePhys(writes);
  }

  /** The lab's init pattern: bytes 0..3 of every page are `pattern`. */
  async fillPagePattern(pattern: Uint8Array): Promise<void> {
    await this.pa.writePhys(this.pfns.map((pfn) => ({ paddr: pfn * PAGE_SIZE, bytes: pattern })));
  }
}
