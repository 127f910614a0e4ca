import type { MachineInfo, PageAllocatorPort, PhysOp } from '../ports';

/**
 * A small stand-in for the page allocator, for the pure mmu tests: a RAM array, a free list, and
 * the counters the mmu affects. The leak tests use the real page allocator through
 * inprocPageAllocatorPort.
 */
export class FakePageAllocatorPort implements PageAllocatorPort {
  /** RAM by frame, allocated on first touch so that large machines cost nothing. */
  private readonly frames = new Map<number, Uint8Array>();
  readonly info: MachineInfo;
  private free: number[] = [];
  readonly tablePfns = new Set<number>();
  readonly vmallocPfns = new Set<number>();
  /** When set, allocation fails once more than this many frames are in use. */
  limit: number | null = null;
  portCalls = 0;

  constructor(arch: 'x86_64' | 'x86', memBytes: number, lowmemBytes = memBytes) {
    const maxPfn = memBytes / 4096;
    this.info = { arch, maxPfn, maxLowPfn: Math.min(maxPfn, lowmemBytes / 4096), totalPages: maxPfn };
    // hand out high PFNs first so highmem shows up in vmalloc on x86; keep PFN 0 reserved
    for (let pfn = 1; pfn < maxPfn; pfn++) this.free.push(pfn);
  }

  get used(): number {
    return this.info.maxPfn - 1 - this.free.length;
  }

  /** Takes a page out of the free list as the test's own data page. */
  takePage(): number {
    const pfn = this.free.shift();
    if (pfn === undefined) throw new Error('fake allocator exhausted');
    return pfn;
  }

  async machine(): Promise<MachineInfo> {
    this.portCalls++;
    return this.info;
  }

  private take(count: number): number[] | null {
    if (count > this.free.length) return null;
    if (this.limit !== null && this.used + count > this.limit) return null;
    return this.free.splice(0, count);
  }

  async allocPageTables(count: number): Promise<number[] | null> {
    this.portCalls++;
    const pfns = this.take(count);
    if (pfns === null) return null;
    for (const pfn of pfns) {
      this.frames.delete(pfn);
      this.tablePfns.add(pfn);
    }
    return pfns;
  }

  async freePageTables(pfns: readonly number[]): Promise<void> {
    this.portCalls++;
    for (const pfn of pfns) {
      if (!this.tablePfns.delete(pfn)) throw new Error(`freeing pfn ${pfn} that is not a page table`);
      this.free.push(pfn);
    }
  }

  async allocVmallocPages(count: number): Promise<number[] | null> {
    this.portCalls++;
    const pfns = this.take(count);
    if (pfns === null) return null;
    for (const pfn of pfns) this.vmallocPfns.add(pfn);
    return pfns;
  }

  async freeVmallocPages(pfns: readonly number[]): Promise<void> {
    this.portCalls++;
    for (const pfn of pfns) {
      if (!this.vmallocPfns.delete(pfn)) throw new Error(`freeing pfn ${pfn} that is not a vmalloc page`);
      this.free.push(pfn);
    }
  }

  async transferPhys(ops: readonly PhysOp[]): Promise<Uint8Array[]> {
    this.portCalls++;
    const out: Uint8Array[] = [];
    for (const op of ops) {
      if (op.op === 'read') out.push(this.readPhys(op.paddr, op.length));
      else this.writePhys(op.paddr, op.bytes);
    }
    return out;
  }

  readPhys(paddr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length;) {
      const pfn = Math.floor((paddr + i) / 4096);
      const off = (paddr + i) % 4096;
      const n = Math.min(length - i, 4096 - off);
      const f = this.frames.get(pfn);
      if (f) out.set(f.subarray(off, off + n), i);
      i += n;
    }
    return out;
  }

  writePhys(paddr: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length;) {
      const pfn = Math.floor((paddr + i) / 4096);
      const off = (paddr + i) % 4096;
      const n = Math.min(bytes.length - i, 4096 - off);
      let f = this.frames.get(pfn);
      if (!f) {
        f = new Uint8Array(4096);
        this.frames.set(pfn, f);
      }
      f.set(bytes.subarray(i, i + n), off);
      i += n;
    }
  }

  async mapcounts(pfns: readonly number[]): Promise<number[]> {
    this.portCalls++;
    return pfns.map(() => 1);
  }
}
